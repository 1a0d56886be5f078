// Package proc names a process so that the name outlives pid reuse.
//
// Claims on OVS ports and network-holding containers record the process
// making them, so that gc leaves a claim alone while its maker lives. A
// bare pid is not enough: with Linux's default pid_max of 32,768, a VM that
// starts a few dozen processes per container run reuses pids within the
// hour, and a dead claim whose pid was reused looked alive forever (seen in
// a 1,000-operation kill campaign: 19 leaks after one gc). A Ref adds the
// process's start time, which a reused pid never repeats.
package proc
