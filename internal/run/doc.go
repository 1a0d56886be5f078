// Package run is the orchestration behind `ovn-docker run`: a container
// whose own process never runs without its network.
//
// A Run is a sequence of named steps (check names, holder, attach, user
// container, release). Each step that makes something registers how to
// undo it only once it succeeded, and identifies what it made by the id
// the engine or the attach core returned, never by name: a failing run
// never removes a container it did not create. Whatever a killed run
// leaves behind carries enough labels (the run's pid, the holder's id)
// for `ovn-docker gc` to finish or undo it.
package run
