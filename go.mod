module github.com/chatter-go/chatter

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/pierrec/lz4/v4 v4.1.33
)

require (
	go.uber.org/mock v0.6.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)
