// Package extenderpath measures what names mode costs per pod on both sides of the wire:
// kube-scheduler's own extender client (HTTPExtender, and what its scheduling cycle does with
// the answers) calling rktsched-extender, against the same client calling an extender that
// decides nothing. It has benchmarks only (go test -bench . ./extenderpath/).
package extenderpath
