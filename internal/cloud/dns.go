package cloud

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/dns"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// ExtDNSIntegration is the alias of Neutron's dns-integration extension
// (ports' dns_name).
const ExtDNSIntegration = "dns-integration"

// SetPortDNSName sets a port's dns_name and device_id in one update. ML2/OVN
// writes a port's DNS records only when it has both, so a port named
// after it was made (a pool port, a trunk's subport, which cannot have a
// device_id when it joins the trunk) gets its owner too; ("", "") clears
// both.
func (c *Client) SetPortDNSName(ctx context.Context, id, dnsName, deviceID string) error {
	opts := dns.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{DeviceID: &deviceID}, DNSName: &dnsName}
	if err := ports.Update(ctx, c.net, id, opts).Err; err != nil {
		return c.apiError(fmt.Sprintf("setting dns_name %q on port %s", dnsName, id), err)
	}
	return nil
}

// withDNSName adds dns_name to a port create when it is set (only where
// the cloud has ExtDNSIntegration).
func withDNSName(b ports.CreateOptsBuilder, dnsName string) ports.CreateOptsBuilder {
	if dnsName == "" {
		return b
	}
	return dns.PortCreateOptsExt{CreateOptsBuilder: b, DNSName: dnsName}
}
