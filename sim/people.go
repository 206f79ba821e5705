package sim

import (
	"iter"
	"math/rand/v2"
	"time"

	"healthcode"
)

// Citizen is one invented resident of the city.
type Citizen struct {
	Index    int    // 0 ≤ Index < City.Size
	Name     string // surname and given name, e.g. "王建国"
	IDNumber string // 18-digit resident ID number with a valid check digit
	Phone    string // 11-digit mobile number, e.g. "13812345678"
	District string // GB/T 2260 code of the home district (also the ID's address code)
	Birth    time.Time
	Male     bool // follows the parity of the ID number's sequence code
}

// PersonalData returns the citizen's identifying fields as the domain keeps them.
func (c Citizen) PersonalData() healthcode.PersonalData {
	return healthcode.PersonalData{Name: c.Name, IDNumber: c.IDNumber, Phone: c.Phone}
}

// idSequences is the number of sequence codes (001–999) per address and
// birth date.
const idSequences = 999

// Person returns the i-th person of the city, computed on demand. It returns
// the zero Citizen if i is out of range.
func (c *City) Person(i int) Citizen {
	if i < 0 || i >= c.Size {
		return Citizen{}
	}
	// A keyed permutation of all (district, birth date, sequence) triples
	// makes every ID number in the city unique.
	j := c.idPerm.at(uint64(i))
	nd := uint64(len(c.Districts))
	dist := c.Districts[j%nd]
	j /= nd
	birth := c.firstBirth.AddDate(0, 0, int(j%uint64(c.birthDays)))
	seq := int(j/uint64(c.birthDays)) + 1
	male := seq%2 == 1

	var id [18]byte
	copy(id[:6], dist.Code)
	y, m, d := birth.Date()
	putDigits(id[6:10], y)
	putDigits(id[10:12], int(m))
	putDigits(id[12:14], d)
	putDigits(id[14:17], seq)
	id[17] = IDCheckDigit(string(id[:17]))

	var phone [11]byte
	p := c.phonePerm.at(uint64(i))
	copy(phone[:3], phonePrefixes[p/1e8])
	putDigits(phone[3:], int(p%1e8))

	var src rand.PCG
	src.Seed(c.Seed^streamPerson, mix64(uint64(i)))
	r := rand.New(&src)
	return Citizen{
		Index:    i,
		Name:     randomName(r, male),
		IDNumber: string(id[:]),
		Phone:    string(phone[:]),
		District: dist.Code,
		Birth:    birth,
		Male:     male,
	}
}

// People yields every person of the city in index order, one at a time.
func (c *City) People() iter.Seq[Citizen] {
	return func(yield func(Citizen) bool) {
		for i := range c.Size {
			if !yield(c.Person(i)) {
				return
			}
		}
	}
}

// putDigits writes v in decimal into b, zero-padded to len(b).
func putDigits(b []byte, v int) {
	for k := len(b) - 1; k >= 0; k-- {
		b[k] = byte('0' + v%10)
		v /= 10
	}
}

// Mobile prefixes of the three carriers.
var phonePrefixes = []string{
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
	"150", "151", "152", "153", "155", "156", "157", "158", "159",
	"166", "173", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
}

// surnames with rough weights (per mille of the population).
var surnames = []struct {
	s string
	w int
}{
	{"王", 71}, {"李", 70}, {"张", 67}, {"刘", 54}, {"陈", 45}, {"杨", 31}, {"赵", 23}, {"黄", 22},
	{"周", 20}, {"吴", 20}, {"徐", 16}, {"孙", 15}, {"胡", 13}, {"朱", 13}, {"高", 12}, {"林", 12},
	{"何", 12}, {"郭", 12}, {"马", 11}, {"罗", 9}, {"梁", 8}, {"宋", 8}, {"郑", 8}, {"谢", 7},
	{"韩", 7}, {"唐", 7}, {"冯", 7}, {"于", 6}, {"董", 6}, {"萧", 6}, {"程", 6}, {"曹", 6},
	{"袁", 6}, {"邓", 6}, {"许", 6}, {"傅", 5}, {"沈", 5}, {"曾", 5}, {"彭", 5}, {"吕", 5},
	{"苏", 5}, {"卢", 5}, {"蒋", 5}, {"蔡", 5}, {"贾", 4}, {"丁", 4}, {"魏", 4}, {"薛", 4},
	{"叶", 4}, {"阎", 4}, {"余", 4}, {"潘", 4}, {"杜", 4}, {"戴", 3}, {"夏", 3}, {"钟", 3},
	{"汪", 3}, {"田", 3}, {"任", 3}, {"姜", 3}, {"范", 3}, {"方", 3}, {"石", 3}, {"姚", 3},
	{"谭", 3}, {"廖", 3}, {"邹", 3}, {"熊", 3}, {"金", 3}, {"陆", 3}, {"郝", 3}, {"孔", 2},
	{"白", 2}, {"崔", 2}, {"康", 2}, {"毛", 2}, {"邱", 2}, {"秦", 2}, {"江", 2}, {"史", 2},
	{"顾", 2}, {"侯", 2}, {"邵", 2}, {"孟", 2}, {"龙", 2}, {"万", 2}, {"段", 2}, {"雷", 2},
	{"常", 2}, {"申", 2}, {"牛", 2}, {"乔", 2}, {"岳", 1}, {"欧阳", 1}, {"司马", 1}, {"上官", 1},
	{"诸葛", 1}, {"尚", 1}, {"靳", 1}, {"聂", 1},
}

var surnameTotal = func() int {
	t := 0
	for _, s := range surnames {
		t += s.w
	}
	return t
}()

var (
	maleChars = []string{"伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华",
		"飞", "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳", "建", "国", "志",
		"文", "东", "海", "博", "成", "峰", "亮", "振", "晨", "昊", "轩", "泽", "睿", "豪", "胜", "永", "卫"}
	femaleChars = []string{"芳", "娜", "敏", "静", "秀", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "慧", "倩",
		"颖", "琳", "洁", "红", "梅", "兰", "萍", "莉", "佳", "欣", "怡", "悦", "雨", "涵", "诗", "梦", "思", "晶",
		"蕾", "璐", "瑶", "琪", "萱", "妍", "月"}
	sharedChars = []string{"子", "一", "家", "新", "天", "嘉", "晓", "春", "文", "玉", "金", "小", "海", "云", "宏",
		"安", "清", "世", "俊", "丹"}
)

// randomName draws a surname by frequency and a one- or two-character given
// name.
func randomName(r *rand.Rand, male bool) string {
	w := r.IntN(surnameTotal)
	sur := surnames[len(surnames)-1].s
	for _, s := range surnames {
		if w < s.w {
			sur = s.s
			break
		}
		w -= s.w
	}
	chars := femaleChars
	if male {
		chars = maleChars
	}
	if r.IntN(10) < 3 {
		return sur + chars[r.IntN(len(chars))]
	}
	first := chars
	if r.IntN(2) == 0 {
		first = sharedChars
	}
	return sur + first[r.IntN(len(first))] + chars[r.IntN(len(chars))]
}
