package cloud

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// SetPortFixedIPs replaces the port's fixed IPs by ips (Neutron keeps an
// address listed again and allocates the others); a FixedIP without IP
// asks for any free address of its subnet. Neutron refuses an address
// outside the subnet or in use, and leaves the port as it was then.
func (c *Client) SetPortFixedIPs(ctx context.Context, id string, ips []FixedIP) (Port, error) {
	req := make([]ports.IP, 0, len(ips))
	for _, ip := range ips {
		r := ports.IP{SubnetID: ip.SubnetID}
		if ip.IP.IsValid() {
			r.IPAddress = ip.IP.String()
		}
		req = append(req, r)
	}
	var p portWithBinding
	if err := ports.Update(ctx, c.net, id, ports.UpdateOpts{FixedIPs: req}).ExtractInto(&p); err != nil {
		return Port{}, c.apiError(fmt.Sprintf("setting the addresses of port %s", id), err)
	}
	return toPort(p)
}
