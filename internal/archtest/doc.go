// Package archtest holds the tests that keep the design true: the import
// rules of ARCHITECTURE.md and CONVENTIONS.md ("Layout") and a doc comment on
// every package. It has no code of its own besides the rule checker.
package archtest
