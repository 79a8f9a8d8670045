// Package mocks holds gomock mocks of the ports of package core, generated
// with mockgen by `go generate ./internal/mocks` (or `make generate`) and
// committed.
package mocks

//go:generate go run go.uber.org/mock/mockgen@v0.6.0 -typed -package mocks -destination ports.go github.com/chatter-go/chatter/core Unicast,Multicast,PeerStore,Rand,Sizer
