package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"healthcode"
	"healthcode/engine"
)

// The admin commands. Everything but `admin init` acts as an admin, named by
// --token, through the engine and the log: a unit or an official created,
// changed or revoked, a token issued or revoked. `admin init` bootstraps an
// empty node once (its first unit and two admins).

const adminUsage = `usage: healthcode admin COMMAND [flags]

  init     --unit NAME --admin NAME --admin NAME   bootstrap an empty node: its first unit and admins (once)
  unit     --token ADMIN --name NAME [--unit-region CODE]   add a unit to the registry
  official --token ADMIN --name NAME --role ROLE --unit UNIT  propose an official (every one is
           only proposed: a second admin approves it)
  approve  --token ADMIN PROPOSAL                  approve another admin's proposal
  refuse   --token ADMIN PROPOSAL                  refuse another admin's proposal
  change   --token ADMIN [--name NAME] [--unit UNIT] OFFICIAL   rename or move an official
  token    --token ADMIN (--official ID | --id-number ID | --subject PSEUDONYM)   issue a token
  revoke   --token ADMIN (TOKEN-ID | TOKEN | --official ID)   revoke a token, or an official and their tokens
  list     --token ADMIN                           the registry: units, officials, proposals
  rotate-key --token ADMIN …                      rotate the QR signing key or venue secrets (see its --help)

Each is logged, naming the acting admin. Run 'healthcode admin COMMAND --help' for its flags.
`

type adminCmd struct {
	name  string
	usage string
	run   func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error
	flags func(fs *flag.FlagSet)
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, adminUsage)
		return exitOK
	}
	if args[0] == "init" {
		return runAdminInit(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "rotate-key" {
		return runRotateKey(ctx, args[1:], stdout, stderr)
	}
	for _, c := range adminCmds() {
		if c.name == args[0] {
			return runAdminCmd(ctx, c, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "healthcode admin: unknown command %q\n\n%s", args[0], adminUsage)
	return exitUsage
}

func runAdminCmd(ctx context.Context, c adminCmd, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("admin "+c.name, flag.ContinueOnError)
	cfg.register(fs)
	token := fs.String("token", "", "your admin bearer token (required)")
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: healthcode admin %s\n\nflags:\n", c.usage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *token == "" {
		fmt.Fprintf(stderr, "healthcode admin %s: --token ADMIN is required (only `healthcode admin init` works without one, on an empty node)\n", c.name)
		return exitUsage
	}
	if err := cfg.finishNodeConfig(fs, "admin "+c.name, stderr); err != nil {
		return fail(stderr, "admin "+c.name, err)
	}
	if c.name == "token" {
		if err := refuseUnservedStore(cfg); err != nil {
			return fail(stderr, "admin "+c.name, err)
		}
	}
	n, err := openExistingNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "admin "+c.name, err)
	}
	defer n.close()
	actor, err := n.engine.Authenticate(ctx, *token)
	if err != nil {
		return fail(stderr, "admin "+c.name, err)
	}
	if actor.Role != healthcode.RoleAdmin && c.name != "revoke" {
		return fail(stderr, "admin "+c.name, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "a %s may not run admin %s: an admin's token is needed", actor.Role, c.name))
	}
	if err := c.run(ctx, n, actor, fs, stdout); err != nil {
		if healthcode.ErrorCode(err) == "usage" {
			fs.Usage()
			return exitUsage
		}
		return fail(stderr, "admin "+c.name, err)
	}
	return exitOK
}

// errUsage makes runAdminCmd print the command's usage and exit 2.
var errUsage = &healthcode.Error{Code: "usage"}

func runAdminInit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("admin init", flag.ContinueOnError)
	cfg.register(fs)
	unitName := fs.String("unit", "", "name of the node's first unit, e.g. 市卫健委信息中心 (required)")
	unitRegion := fs.String("unit-region", "", "GB/T 2260 code of the unit (default: the node's region)")
	var admins stringList
	fs.Var(&admins, "admin", "name of a first admin; give it at least twice (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode admin init --unit NAME --admin NAME --admin NAME [flags]\n\nBootstraps an empty node: creates its first unit and its first admins (at least two, since\ncreating any later official needs a second admin), logs them, and prints each\nadmin's token once. Refused once the node has any official.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *unitName == "" || len(admins) < 2 || fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if err := cfg.finish(); err != nil {
		return fail(stderr, "admin init", err)
	}
	fmt.Fprintf(stderr, "healthcode admin init: store %s\n", displayDB(cfg.DB))
	if err := refuseUnservedStore(cfg); err != nil {
		return fail(stderr, "admin init", err)
	}
	n, err := openNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "admin init", err)
	}
	defer n.close()
	u, toks, err := n.engine.Init(ctx, healthcode.Unit{Name: *unitName, Region: *unitRegion}, admins)
	if err != nil {
		return fail(stderr, "admin init", err)
	}
	fmt.Fprintf(stdout, "unit %s  %s (%s)\n", u.ID, u.Name, u.Region)
	for _, t := range toks {
		printToken(stdout, &t)
	}
	return exitOK
}

func printToken(w io.Writer, t *engine.IssuedToken) {
	p := t.Token.Principal
	who := fmt.Sprintf("official %s  %s (%s, unit %s)", p.ID, p.Name, p.Role, p.Unit)
	if p.Role == healthcode.RoleCitizen {
		who = fmt.Sprintf("citizen %s  %s", p.Subject, p.Name)
	}
	fmt.Fprintf(w, "%s\n  token %s  id %s  expires %s\n", who, t.Secret, t.Token.ID, t.Token.Expires.Format("2006-01-02T15:04:05Z07:00"))
}

func adminCmds() []adminCmd {
	var name, role, unitID, region, official, idNumber, subject, purpose string
	str := func(p *string, flagName, help string) func(fs *flag.FlagSet) {
		return func(fs *flag.FlagSet) { fs.StringVar(p, flagName, "", help) }
	}
	both := func(fns ...func(fs *flag.FlagSet)) func(fs *flag.FlagSet) {
		return func(fs *flag.FlagSet) {
			for _, f := range fns {
				f(fs)
			}
		}
	}
	proposal := func(fs *flag.FlagSet) (int64, error) {
		if fs.NArg() != 1 {
			return 0, errUsage
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return 0, healthcode.Errorfd(healthcode.EINVALID, "proposal.id", "%q is not a proposal number", fs.Arg(0))
		}
		return id, nil
	}
	return []adminCmd{
		{name: "unit", usage: "unit --token ADMIN --name NAME [--unit-region CODE]",
			flags: both(str(&name, "name", "the unit's name (required)"), str(&region, "unit-region", "GB/T 2260 code of the unit (default: the node's region)")),
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				if name == "" || fs.NArg() != 0 {
					return errUsage
				}
				u, err := n.engine.CreateUnit(ctx, actor, healthcode.Unit{Name: name, Region: region})
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "unit %s  %s (%s)\n", u.ID, u.Name, u.Region)
				return nil
			}},
		{name: "official", usage: "official --token ADMIN --name NAME --role ROLE --unit UNIT",
			flags: both(str(&name, "name", "the official's name, as the log will show it (required)"),
				str(&role, "role", "verifier, venue, lab, clinic, epidemiologist, operator, approver, auditor, admin or peer (required)"),
				str(&unitID, "unit", "the id of the official's unit in the registry (required)")),
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				if name == "" || role == "" || unitID == "" || fs.NArg() != 0 {
					return errUsage
				}
				o, p, err := n.engine.CreateOfficial(ctx, actor, healthcode.Official{Name: name, Role: healthcode.Role(role), Unit: unitID})
				if err != nil {
					return err
				}
				if p != nil {
					fmt.Fprintf(stdout, "proposal %d: %s %s (%s, unit %s) exists once a second admin approves:\n  healthcode admin approve --token ADMIN2 %d\n",
						p.ID, p.Official.ID, p.Official.Name, p.Official.Role, p.Official.Unit, p.ID)
					return nil
				}
				fmt.Fprintf(stdout, "official %s  %s (%s, unit %s)\n", o.ID, o.Name, o.Role, o.Unit)
				return nil
			}},
		{name: "approve", usage: "approve --token ADMIN PROPOSAL",
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				id, err := proposal(fs)
				if err != nil {
					return err
				}
				o, err := n.engine.ApproveOfficial(ctx, actor, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "official %s  %s (%s, unit %s)\n", o.ID, o.Name, o.Role, o.Unit)
				return nil
			}},
		{name: "refuse", usage: "refuse --token ADMIN PROPOSAL",
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				id, err := proposal(fs)
				if err != nil {
					return err
				}
				p, err := n.engine.RefuseOfficial(ctx, actor, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "proposal %d refused\n", p.ID)
				return nil
			}},
		{name: "change", usage: "change --token ADMIN [--name NAME] [--unit UNIT] OFFICIAL",
			flags: both(str(&name, "name", "the official's new name"), str(&unitID, "unit", "the id of the official's new unit")),
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				if fs.NArg() != 1 || name == "" && unitID == "" {
					return errUsage
				}
				o, p, err := n.engine.ChangeOfficial(ctx, actor, fs.Arg(0), name, unitID)
				if err != nil {
					return err
				}
				if p != nil {
					fmt.Fprintf(stdout, "proposal %d: the change takes effect once a second admin approves:\n  healthcode admin approve --token ADMIN2 %d\n", p.ID, p.ID)
					return nil
				}
				fmt.Fprintf(stdout, "official %s  %s (%s, unit %s)\n", o.ID, o.Name, o.Role, o.Unit)
				return nil
			}},
		{name: "token", usage: "token --token ADMIN (--official ID | (--id-number ID | --subject PSEUDONYM) --purpose PURPOSE)",
			flags: both(both(str(&official, "official", "the official's id (any official's token but your own needs a second admin to run the same command)"),
				str(&idNumber, "id-number", "citizen tokens: the person's ID number")),
				both(str(&subject, "subject", "citizen tokens: the person's pseudonym"),
					str(&purpose, "purpose", "citizen tokens: why ("+strings.Join(engine.CitizenTokenPurposes, ", ")+"); shown to the person as an access to their data"))),
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				given := 0
				for _, s := range []string{official, idNumber, subject} {
					if s != "" {
						given++
					}
				}
				if given != 1 || fs.NArg() != 0 || official != "" && purpose != "" {
					return errUsage
				}
				var t *engine.IssuedToken
				var err error
				if official != "" {
					var p *healthcode.OfficialProposal
					if t, p, err = n.engine.IssueToken(ctx, actor, official); err != nil {
						return err
					}
					if p != nil {
						fmt.Fprintf(stdout, "proposal %d: a token for %s %s (%s, unit %s) is issued once a second admin runs:\n  healthcode admin token --token ADMIN2 --official %s\n",
							p.ID, p.Official.ID, p.Official.Name, p.Official.Role, p.Official.Unit, p.Official.ID)
						return nil
					}
				} else {
					if idNumber != "" {
						err = n.db.View(ctx, func(tx healthcode.ReadTx) error {
							p, err := tx.PersonByIDHash(ctx, n.engine.Keys.IDHash(idNumber))
							if err == nil {
								subject = p.Pseudonym
							}
							return err
						})
						if err != nil {
							return err
						}
					}
					t, err = n.engine.IssueCitizenToken(ctx, actor, subject, purpose)
				}
				if err != nil {
					return err
				}
				printToken(stdout, t)
				return nil
			}},
		{name: "revoke", usage: "revoke --token ADMIN (TOKEN-ID | TOKEN | --official ID)",
			flags: str(&official, "official", "revoke this official and every token they hold"),
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				if official != "" {
					if fs.NArg() != 0 {
						return errUsage
					}
					o, err := n.engine.RevokeOfficial(ctx, actor, official)
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "official %s revoked, with every token they held\n", o.ID)
					return nil
				}
				if fs.NArg() != 1 {
					return errUsage
				}
				id := fs.Arg(0)
				if strings.HasPrefix(id, engine.TokenPrefix) {
					id = engine.TokenID(id) // a leaked token, given whole
				}
				t, err := n.engine.RevokeToken(ctx, actor, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "token %s revoked\n", t.ID)
				return nil
			}},
		{name: "list", usage: "list --token ADMIN",
			run: func(ctx context.Context, n *node, actor *healthcode.Principal, fs *flag.FlagSet, stdout io.Writer) error {
				if fs.NArg() != 0 {
					return errUsage
				}
				r, err := n.engine.Registry(ctx, actor)
				if err != nil {
					return err
				}
				for _, u := range r.Units {
					fmt.Fprintf(stdout, "unit     %s  %s (%s)\n", u.ID, u.Name, u.Region)
				}
				for _, o := range r.Officials {
					fmt.Fprintf(stdout, "official %s  %s (%s, unit %s) %s\n", o.ID, o.Name, o.Role, o.Unit, o.Status)
				}
				for _, p := range r.Proposals {
					kind := ""
					if p.Token {
						kind = "token for "
					} else if p.Change {
						kind = "change of "
					}
					fmt.Fprintf(stdout, "proposal %d  %s%s %s (%s, unit %s) by %s: %s\n", p.ID, kind, p.Official.ID, p.Official.Name, p.Official.Role,
						p.Official.Unit, p.ProposedBy.ID, p.Status)
				}
				return nil
			}},
	}
}
