// Package neutronapi is the benchmarks' minimal Neutron/Keystone HTTP
// client: raw requests with a token, so that what is timed is the server and
// not a client library.
package neutronapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client sends requests to one server with one token.
type Client struct {
	Base, Token string
	HTTP        *http.Client
}

// New returns a client whose connection pool is large enough for the
// benchmarks' concurrent clients.
func New(base, token string) *Client {
	return &Client{Base: base, Token: token, HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// Do sends one request and decodes a JSON answer of a write; a GET's body
// is read and dropped (listing 10,000 ports should not weigh on the
// client). An answer other than want is an error carrying the body.
func (c *Client) Do(method, path, body string, want int) (map[string]any, error) {
	req, err := http.NewRequest(method, c.Base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	var out map[string]any
	if len(data) > 0 && method != http.MethodGet {
		err = json.Unmarshal(data, &out)
	}
	return out, err
}

// Token issues a project-scoped Keystone token by password (user and
// project of the default domain).
func Token(base, user, password, projectID string) (string, error) {
	body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"id": "default"}, "password": %q}}}, "scope": {"project": {"id": %q}}}}`,
		user, password, projectID)
	resp, err := http.Post(base+"/v3/auth/tokens?nocatalog", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		return "", fmt.Errorf("token: %s", resp.Status)
	}
	return tok, nil
}

// Network creates a network with one IPv4 subnet of cidr and returns the
// ids of both.
func (c *Client) Network(name, cidr string) (netID, subnetID string, _ error) {
	out, err := c.Do("POST", "/v2.0/networks", fmt.Sprintf(`{"network": {"name": %q}}`, name), 201)
	if err != nil {
		return "", "", err
	}
	netID = out["network"].(map[string]any)["id"].(string)
	out, err = c.Do("POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": %q}}`, netID, cidr), 201)
	if err != nil {
		return "", "", err
	}
	return netID, out["subnet"].(map[string]any)["id"].(string), nil
}
