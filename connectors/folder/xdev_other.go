//go:build !windows

package folder

import "syscall"

var errCrossDevice error = syscall.EXDEV
