# Every external dependency is found here, in one place.
find_package(Torch REQUIRED)
# Torch's config puts its include dirs on the imported target; mark them SYSTEM so that
# warnings inside LibTorch headers never fail our -Werror build.
get_target_property(_torch_inc torch INTERFACE_INCLUDE_DIRECTORIES)
if(_torch_inc)
  set_target_properties(torch PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_torch_inc}")
endif()

find_package(Protobuf REQUIRED)
find_package(glog REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)

set(HESP_HAVE_MPI OFF)
if(HESP_WITH_MPI)
  find_package(MPI COMPONENTS C)
  if(MPI_C_FOUND)
    set(HESP_HAVE_MPI ON)
  endif()
endif()

# NCCL: from CUDA's tree (/usr/local/cuda) or a module (NCCL_ROOT / NCCL_HOME).
set(HESP_HAVE_NCCL OFF)
if(HESP_WITH_NCCL)
  find_package(NCCL)
  if(NCCL_FOUND AND HESP_HAVE_MPI)
    set(HESP_HAVE_NCCL ON)
  endif()
endif()

# LibTorch built with CUDA exposes c10_cuda; then the NCCL path uses torch's streams.
set(HESP_TORCH_HAS_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR TARGET c10_cuda)
  set(HESP_TORCH_HAS_CUDA ON)
endif()

message(STATUS "hesp: LibTorch ${Torch_VERSION}, MPI=${HESP_HAVE_MPI}, NCCL=${HESP_HAVE_NCCL}, torch CUDA=${HESP_TORCH_HAS_CUDA}")
