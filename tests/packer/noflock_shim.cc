// LD_PRELOAD shim for the locking tests: flock() fails with ENOLCK, as on NFS/Lustre
// mounts without lock support (h5py/h5py#1101).
#include <cerrno>

extern "C" int flock(int, int) {
  errno = ENOLCK;
  return -1;
}
