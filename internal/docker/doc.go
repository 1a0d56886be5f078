// Package docker is the plugin's access to the Docker engine. The plugin's
// own calls (ping, inspect, list, the network-holding container's create,
// start and removal, the pause image check) go to the engine API over its
// unix socket, with API version negotiation, when the docker CLI would use
// a local socket too (DOCKER_HOST=unix://… or the default); otherwise
// (tcp, ssh, TLS, contexts) they go through the docker CLI. The user's own
// `docker run` always goes through the CLI, because passing the user's
// command line through unchanged (apart from the network) is the point.
package docker
