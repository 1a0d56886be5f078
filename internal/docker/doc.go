// Package docker is the plugin's access to the Docker engine. It drives the
// docker CLI, because passing a user's `docker run` command line through
// unchanged (apart from the network) is the point, and the CLI negotiates
// the API version with any engine (DOCKER_HOST, contexts, TLS included).
package docker
