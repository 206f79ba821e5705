package healthcode

import "context"

// Role is what a caller may do. The list is closed.
type Role string

const (
	RoleCitizen        Role = "citizen"
	RoleVerifier       Role = "verifier"
	RoleVenue          Role = "venue"
	RoleSampler        Role = "sampler" // a sampling site: records each sample collected, by tube
	RoleLab            Role = "lab"
	RoleClinic         Role = "clinic"
	RoleEpidemiologist Role = "epidemiologist"
	RoleOperator       Role = "operator"
	RoleApprover       Role = "approver"
	RoleAuditor        Role = "auditor"
	RoleAdmin          Role = "admin"
	RolePeer           Role = "peer"
	RoleSystem         Role = "system" // the rules engine itself, never a token
)

// Roles lists the roles a token may carry.
var Roles = []Role{RoleCitizen, RoleVerifier, RoleVenue, RoleSampler, RoleLab, RoleClinic, RoleEpidemiologist,
	RoleOperator, RoleApprover, RoleAuditor, RoleAdmin, RolePeer}

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Errorfd(EINVALID, "role.unknown", "unknown role %q", s)
}

// Principal is an authenticated caller: an official, an institution or a
// citizen. Officials are named in the log by Name and Role.
type Principal struct {
	ID   string // stable id, e.g. "lab-001" or the citizen's pseudonym
	Name string // shown in the log for officials and institutions
	Role Role
	Unit string // the official's unit (a lab, a bureau); empty for citizens
	// Subject is the pseudonym a citizen token speaks for.
	Subject string
}

// Official reports whether the principal acts in an official capacity (and
// is therefore named in the public log).
func (p *Principal) Official() bool { return p != nil && p.Role != RoleCitizen }

// SubmitsEvidence reports whether the role may submit evidence of kind k.
// Labs submit test results; clinics test results, vaccinations and
// diagnoses (a test result always names a tube a sampler of another unit
// collected, see Submission.Tube);
// epidemiologists contact designations, travel, quarantine and testing
// duties.
func (r Role) SubmitsEvidence(k EvidenceKind) bool {
	switch r {
	case RoleLab:
		return k == NucleicAcidTest || k == AntigenTest
	case RoleClinic:
		return k == NucleicAcidTest || k == AntigenTest || k == Vaccination || k == Diagnosis
	case RoleEpidemiologist:
		return k == CloseContact || k == SecondaryContact || k == Travel || k == QuarantineStart || k == QuarantineEnd || k == TestingDuty
	}
	return false
}

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the caller carried by ctx, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
