// Package archtest holds resetbot's import rules as a test (archtest_test.go): which way imports may
// run between the core, the message model, the adapters and Graph, as ARCHITECTURE.md draws them.
// A change that imports across a forbidden boundary fails `go test ./...` with the rule it broke.
//
// It has no code of its own and nothing imports it.
package archtest
