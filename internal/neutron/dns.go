package neutron

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// fqdnMaxLen is neutron-lib's FQDN_FIELD_SIZE.
const fqdnMaxLen = 255

var (
	dnsLabel   = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	allNumeric = regexp.MustCompile(`^[0-9]+$`)
)

// dnsName reads a port's dns_name as Neutron's API layer does: the value
// lower-cased (convert_string_to_case_insensitive), then checked by
// neutron-lib's validate_dns_name against the configured domain. It
// returns nil when Neutron would ignore the attribute (no domain, or the
// default openstacklocal.: dns_name then stays "").
func dnsName(raw json.RawMessage, domain string) (*string, error) {
	var s string
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		s = ""
	} else if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid("Input value %s must be string type.", clip(raw))
	}
	s = strings.ToLower(s)
	if reason := dnsNameProblem(s, domain); reason != "" {
		return nil, httpBadReq("Invalid input for dns_name. Reason: %s.", reason)
	}
	if !ovn.DNSNamesHonoured(domain) {
		return nil, nil
	}
	return &s, nil
}

// dnsNameProblem is neutron-lib's validate_dns_name: "" when name is
// valid, else why not.
func dnsNameProblem(name, domain string) string {
	if name == "" {
		return ""
	}
	if reason := dnsFormatProblem(name); reason != "" {
		return fmt.Sprintf("'%s' not a valid PQDN or FQDN. Reason: %s", name, reason)
	}
	if !ovn.DNSNamesHonoured(domain) {
		return ""
	}
	domain = ovn.NormalizeDNSDomain(domain)
	higher := "." + domain
	if !strings.HasSuffix(name, ".") {
		if len(name)+len(higher) > fqdnMaxLen {
			return fmt.Sprintf("The dns_name passed is a PQDN and its size is '%d'. The dns_domain option in neutron.conf is set to %s, "+
				"with a length of '%d'. When the two are concatenated to form a FQDN (with a '.' at the end), "+
				"the resulting length exceeds the maximum size of '%d'", len(name), domain, len(higher), fqdnMaxLen)
		}
		return ""
	}
	if len(name) <= len(higher) || !strings.HasSuffix(name, higher) {
		return fmt.Sprintf("The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf, "+
			"that has been set to '%s'. It must also include one or more valid DNS labels to the left of '%s'", domain, domain)
	}
	return ""
}

// dnsFormatProblem is neutron-lib's _validate_dns_format.
func dnsFormatProblem(name string) string {
	trimmed := strings.TrimSuffix(name, ".")
	if len(trimmed) > fqdnMaxLen {
		return fmt.Sprintf("'%s' exceeds the %d character FQDN limit", trimmed, fqdnMaxLen)
	}
	labels := strings.Split(trimmed, ".")
	for _, l := range labels {
		if l == "" {
			return "Encountered an empty component"
		}
		if strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return fmt.Sprintf("Name '%s' must not start or end with a hyphen", l)
		}
		if !dnsLabel.MatchString(l) {
			return fmt.Sprintf("Name '%s' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen", l)
		}
	}
	if len(labels) > 1 && allNumeric.MatchString(labels[len(labels)-1]) {
		return fmt.Sprintf("TLD '%s' must not be all numeric", labels[len(labels)-1])
	}
	return ""
}
