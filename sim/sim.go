// Package sim generates the synthetic city that `healthcode demo`, the tests
// and the benchmarks run on: people with plausible Chinese names, resident ID
// numbers and phone numbers, the labs, clinics and epidemiologists of the
// city, a small outbreak told as a timeline of evidence, and city-wide
// testing rounds.
//
// Everything is computed on demand from a seed (math/rand/v2 PCG and keyed
// permutations), so the same seed and size always give byte-identical output,
// and a city of ten million people is never held in memory. The package
// invents data only: it must never read, store or send real personal data,
// and it never reads the clock — every time is derived from Config.Start.
package sim

import (
	"fmt"
	"time"

	"healthcode"
)

// Limits on the size of a city.
const (
	MinPeople = 1_000
	MaxPeople = 10_000_000
)

// DefaultRegion is 郑州市 (Zhengzhou), the city of the reference scenario.
const DefaultRegion = "410100"

// China Standard Time, without depending on a tz database.
var cst = time.FixedZone("CST", 8*60*60)

// DefaultStart is the start of the simulated outbreak when Config.Start is
// zero: 1 May 2022, 08:00 China Standard Time.
var DefaultStart = time.Date(2022, 5, 1, 8, 0, 0, 0, cst)

// Config says which city to build. The zero value of every field but People
// has a default.
type Config struct {
	Seed   uint64
	People int       // MinPeople to MaxPeople
	Region string    // GB/T 2260 code of the city; DefaultRegion if empty
	Start  time.Time // start of the outbreak timeline; DefaultStart if zero
}

// District is a county-level division of the city.
type District struct {
	Code string // GB/T 2260
	Name string
}

// Institution is a submitter of evidence: a sampling site, a lab, a clinic
// or an epidemiologist (an official named in the log, with the unit they
// serve).
type Institution struct {
	ID       string // stable id, e.g. "lab-001"
	Name     string // e.g. "郑州市第一人民医院"; an epidemiologist's own name
	Unit     string // the department or unit, e.g. "检验科"
	Role     healthcode.Role
	District string // GB/T 2260 code of the district it is in
}

// Principal returns the institution as the caller that submits its evidence.
func (in Institution) Principal() healthcode.Principal {
	return healthcode.Principal{ID: in.ID, Name: in.Name, Role: in.Role, Unit: in.Unit}
}

// City is a synthetic city. It holds only its configuration, its districts
// and institutions; people are computed on demand. A City is safe for
// concurrent use.
type City struct {
	Seed      uint64
	Size      int // number of people
	Region    string
	Name      string // e.g. "郑州市"
	Start     time.Time
	Districts []District

	// Samplers are the sampling sites (采样点), each of its district's
	// sampling team: a unit of its own, never a lab's.
	Samplers        []Institution
	Labs            []Institution
	Clinics         []Institution
	Epidemiologists []Institution

	birthDays  int // number of possible birth dates
	firstBirth time.Time
	idPerm     perm // person index → (district, birth date, sequence)
	phonePerm  perm // person index → phone number
}

// New builds the city described by cfg. Returns EINVALID if the size is out
// of range or the region is not a GB/T 2260 code.
func New(cfg Config) (*City, error) {
	if cfg.People < MinPeople || cfg.People > MaxPeople {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "sim.people",
			"a city has between %d and %d people, not %d", MinPeople, MaxPeople, cfg.People)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if err := healthcode.ValidateRegion(cfg.Region); err != nil {
		return nil, err
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	c := &City{Seed: cfg.Seed, Size: cfg.People, Region: cfg.Region, Start: cfg.Start}
	c.Name, c.Districts = districtsOf(cfg.Region)

	// Birth dates run from 90 years before the start to the day before it.
	y, m, d := cfg.Start.Date()
	last := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	c.firstBirth = last.AddDate(-90, 0, 0)
	c.birthDays = int(last.Sub(c.firstBirth)/(24*time.Hour)) + 1
	c.idPerm = newPerm(uint64(len(c.Districts))*uint64(c.birthDays)*idSequences, mix64(cfg.Seed^0x1d))
	c.phonePerm = newPerm(uint64(len(phonePrefixes))*1e8, mix64(cfg.Seed^0x9e))
	c.institutions()
	return c, nil
}

func (c *City) institutions() {
	nLabs := clamp(c.Size/250_000, 3, 40)
	nClinics := clamp(c.Size/100_000, 4, 100)
	nEpi := clamp(c.Size/500_000, 3, 30)
	dist := func(k int) District { return c.Districts[k%len(c.Districts)] }
	nSamplers := clamp(c.Size/50_000, len(c.Districts), 200)
	for k := range nSamplers {
		d := dist(k)
		c.Samplers = append(c.Samplers, Institution{ID: fmt.Sprintf("sampler-%03d", k+1), Role: healthcode.RoleSampler, District: d.Code,
			Name: fmt.Sprintf("%s%s第%d核酸采样点", c.Name, d.Name, k/len(c.Districts)+1), Unit: c.Name + d.Name + "核酸采样队"})
	}
	for k := range nLabs {
		in := Institution{ID: fmt.Sprintf("lab-%03d", k+1), Role: healthcode.RoleLab, District: dist(k).Code}
		if k < len(labNames) {
			in.Name, in.Unit = fmt.Sprintf(labNames[k][0], c.Name), labNames[k][1]
		} else {
			in.Name, in.Unit = fmt.Sprintf("%s%s第%d核酸检测基地", c.Name, dist(k).Name, k/len(c.Districts)+1), "核酸检测实验室"
		}
		c.Labs = append(c.Labs, in)
	}
	for k := range nClinics {
		d := dist(k)
		in := Institution{ID: fmt.Sprintf("clinic-%03d", k+1), Role: healthcode.RoleClinic, District: d.Code}
		switch round := k / len(c.Districts); round {
		case 0:
			in.Name, in.Unit = c.Name+d.Name+"人民医院", "发热门诊"
		case 1:
			in.Name, in.Unit = c.Name+d.Name+"中医院", "发热门诊"
		default:
			in.Name, in.Unit = fmt.Sprintf("%s%s第%d社区卫生服务中心", c.Name, d.Name, round-1), "发热哨点诊室"
		}
		c.Clinics = append(c.Clinics, in)
	}
	r := newRand(c.Seed, streamOfficials)
	for k := range nEpi {
		male := r.IntN(2) == 0
		c.Epidemiologists = append(c.Epidemiologists, Institution{
			ID:       fmt.Sprintf("epi-%03d", k+1),
			Name:     randomName(r, male),
			Unit:     fmt.Sprintf("%s疾病预防控制中心流行病学调查第%d组", c.Name, k+1),
			Role:     healthcode.RoleEpidemiologist,
			District: dist(k).Code,
		})
	}
}

// District returns the district with the code, and whether there is one.
func (c *City) District(code string) (District, bool) {
	for _, d := range c.Districts {
		if d.Code == code {
			return d, true
		}
	}
	return District{}, false
}

var labNames = [][2]string{
	{"%s疾病预防控制中心", "病毒检验实验室"},
	{"%s第一人民医院", "检验科"},
	{"%s中心医院", "检验科"},
	{"金域医学%s检验所", "核酸检测实验室"},
	{"迪安诊断%s医学检验实验室", "核酸检测实验室"},
	{"华大基因%s火眼实验室", "核酸检测实验室"},
	{"艾迪康%s医学检验所", "核酸检测实验室"},
	{"%s第二人民医院", "检验科"},
}

// districtsOf returns the name and districts of a region. Zhengzhou is
// spelled out; any other region gets invented districts under its code.
func districtsOf(region string) (string, []District) {
	if region == DefaultRegion {
		return "郑州市", []District{
			{"410102", "中原区"}, {"410103", "二七区"}, {"410104", "管城回族区"}, {"410105", "金水区"},
			{"410106", "上街区"}, {"410108", "惠济区"}, {"410122", "中牟县"}, {"410181", "巩义市"},
			{"410182", "荥阳市"}, {"410183", "新密市"}, {"410184", "新郑市"}, {"410185", "登封市"},
		}
	}
	name := "模拟市"
	if region[2:] != "0000" && region[4:] != "00" {
		// A county-level region is its own only district.
		return "模拟县", []District{{region, "模拟县"}}
	}
	prefix := region[:4]
	if region[2:] == "0000" { // a province: use its first prefecture
		prefix = region[:2] + "01"
		name = "模拟省会"
	}
	ds := make([]District, 6)
	for k := range ds {
		ds[k] = District{Code: fmt.Sprintf("%s%02d", prefix, k+2), Name: "第" + chineseDigits[k+1] + "区"}
	}
	return name, ds
}

var chineseDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
