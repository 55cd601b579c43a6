# Helpers for tests.
#   hesp_add_test_binary(name SOURCES ...)   a gtest binary linked with hesp_core (every part)
#   hesp_add_test(name COMMAND ...)          a ctest entry with the per-rank thread budget
#   hesp_add_mpi_test(name NP n COMMAND ...) the same under mpirun; skipped (code 77) when
#                                            mpirun is absent.
find_program(HESP_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})

function(hesp_add_test_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  hesp_set_warnings(${name})
  target_link_libraries(${name} PRIVATE hesp_core hesp_test_support GTest::gtest GTest::gmock
    ${ARG_LIBS})
  target_compile_definitions(${name} PRIVATE
    HESP_SOURCE_DIR="${CMAKE_SOURCE_DIR}" HESP_SHARED_DIR="${HESP_SHARED_DIR}"
    HESP_BINARY_DIR="${CMAKE_BINARY_DIR}")
  target_precompile_headers(${name} REUSE_FROM hesp_util)
endfunction()

function(hesp_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  add_test(NAME ${name} COMMAND ${ARG_COMMAND})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} SKIP_RETURN_CODE 77
    LABELS "${ARG_LABELS}"
    ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1;HESP_SOURCE_DIR=${CMAKE_SOURCE_DIR};HESP_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()

function(hesp_add_mpi_test name)
  cmake_parse_arguments(ARG "" "NP;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT ARG_NP)
    set(ARG_NP 2)
  endif()
  if(HESP_MPIEXEC AND HESP_HAVE_MPI)
    hesp_add_test(${name} TIMEOUT ${ARG_TIMEOUT} LABELS mpi ${ARG_LABELS} COMMAND
      ${HESP_MPIEXEC} --allow-run-as-root --oversubscribe --bind-to none -np ${ARG_NP}
      ${ARG_COMMAND})
  else()
    hesp_add_test(${name} LABELS mpi COMMAND sh -c "echo 'mpirun not found: skipping ${name}'; exit 77")
  endif()
endfunction()
