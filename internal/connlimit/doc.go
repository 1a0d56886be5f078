// Package connlimit bounds how many connections a listener keeps open in
// total and per client address, so that one client holding many slow or
// idle connections cannot use up the server's file descriptors and shut
// everyone else out.
package connlimit
