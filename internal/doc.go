// Package internal holds helpers shared by Chatter's own packages and tests
// that are not part of its API.
package internal
