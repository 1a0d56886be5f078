package docker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// NetworkEndpoints returns the endpoint ids of the engine's networks of
// driver (those of running containers: a stopped container has none).
func (c *Client) NetworkEndpoints(ctx context.Context, driver string) (map[string]bool, error) {
	e := c.api()
	if e == nil {
		return nil, errors.New("listing network endpoints needs the engine's unix socket (DOCKER_HOST=unix://…)")
	}
	f, err := json.Marshal(map[string][]string{"driver": {driver}})
	if err != nil {
		return nil, err
	}
	var nets []struct {
		ID string `json:"Id"`
	}
	if err := e.do(ctx, http.MethodGet, "/networks", url.Values{"filters": {string(f)}}, nil, &nets); err != nil {
		return nil, wrap(err, "network ls")
	}
	out := map[string]bool{}
	for _, n := range nets {
		var nw struct {
			Containers map[string]struct{ EndpointID string }
		}
		if err := e.do(ctx, http.MethodGet, "/networks/"+n.ID, nil, nil, &nw); err != nil {
			if notFound(err) {
				continue // removed meanwhile
			}
			return nil, wrap(err, "network inspect "+n.ID)
		}
		for _, c := range nw.Containers {
			out[c.EndpointID] = true
		}
	}
	return out, nil
}

// NetworkDriver returns the driver of the engine's network nameOrID, ""
// if the engine has no such network.
func (c *Client) NetworkDriver(ctx context.Context, nameOrID string) (string, error) {
	e := c.api()
	if e == nil {
		return "", errors.New("inspecting a network needs the engine's unix socket (DOCKER_HOST=unix://…)")
	}
	var nw struct{ Driver string }
	if err := e.do(ctx, http.MethodGet, "/networks/"+url.PathEscape(nameOrID), nil, nil, &nw); err != nil {
		if notFound(err) {
			return "", nil
		}
		return "", wrap(err, "network inspect "+nameOrID)
	}
	return nw.Driver, nil
}
