//go:build !linux

package udpmcast_test

import (
	"errors"
	"net"
)

// inNetns reports errNoNetns: network namespaces are Linux's.
func inNetns(func(lo *net.Interface) error) error { return errNoNetns }

var errNoNetns = errors.New("no network namespaces outside Linux")

func ip(...string) error { return errNoNetns }
