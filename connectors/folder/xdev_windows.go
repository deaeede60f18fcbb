package folder

import "syscall"

// ERROR_NOT_SAME_DEVICE; package syscall does not name it.
var errCrossDevice error = syscall.Errno(17)
