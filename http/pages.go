package http

// The server-rendered pages: the citizen's own code, the checkpoint verifier,
// and the error pages. Every page is in Chinese and English (from the lang
// parameter, then the lang cookie, then Accept-Language; Chinese by default),
// every string comes from the messages table below, every colour is also
// given as a shape and a word, and nothing is fetched from another host: the
// templates, the CSS and the scripts are embedded in the binary.

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"healthcode"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// displayZone is the time zone of the times pages show: Beijing time, the
// one official time of every region a node serves.
var displayZone = time.FixedZone("UTC+8", 8*3600)

// Languages of the pages.
const (
	langZH = "zh"
	langEN = "en"
)

// langCookie remembers a language chosen on a page.
const langCookie = "lang"

// negotiateLang picks the page language: the lang parameter, then the lang
// cookie, then the first of Chinese and English in Accept-Language by
// quality; Chinese when none says. fromParam reports a choice made by the
// parameter, which the page then remembers in the cookie.
func negotiateLang(r *http.Request) (lang string, fromParam bool) {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l, true
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l, false
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language")), false
}

func parseLang(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zh", "zh-cn", "zh-hans":
		return langZH, true
	case "en":
		return langEN, true
	}
	return "", false
}

// acceptLanguage returns langZH or langEN, whichever the header ranks
// higher (ties go to the earlier entry); langZH if it names neither.
func acceptLanguage(h string) string {
	best, bestQ := langZH, -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l string
		switch primary {
		case "zh":
			l = langZH
		case "en":
			l = langEN
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// msg is one string of the pages in both languages.
type msg struct{ zh, en string }

// messages is every string the pages show. Keys with the prefixes in
// jsPrefixes are also sent to the verifier's script.
var messages = map[string]msg{
	"app.name":          {"健康码", "Health code"},
	"nav.label":         {"主导航", "Main"},
	"nav.skip":          {"跳到正文", "Skip to content"},
	"nav.home":          {"我的健康码", "My health code"},
	"nav.verify":        {"核验健康码", "Verify a code"},
	"lang.other":        {"English", "中文"},
	"lang.other.label":  {"Switch to English", "切换到中文"},
	"footer.rules":      {"颜色只来自公开的规则。", "Colours come only from published rules."},
	"footer.rules.link": {"查看现行规则", "Read the rules in force"},
	"footer.privacy": {"核验只能看到颜色、打码姓名和有效期，看不到任何医疗信息。",
		"A checkpoint sees the colour, the masked name and the validity: nothing medical."},

	"login.title":          {"登录", "Log in"},
	"login.token":          {"令牌", "Token"},
	"login.token.help":     {"输入发给您的个人令牌。", "Enter the personal token you were given."},
	"login.submit":         {"登录", "Log in"},
	"login.bad":            {"令牌无效，或不是市民令牌。", "This token is not a valid citizen token."},
	"login.session_ended":  {"您的登录已失效，请重新登录。", "Your session has ended. Please log in again."},
	"login.verify.hint":    {"在检查点核验别人的健康码？", "Checking other people's codes at a checkpoint?"},
	"logout":               {"退出登录", "Log out"},
	"citizen.title":        {"我的健康码", "My health code"},
	"colour.green":         {"绿码", "Green code"},
	"colour.yellow":        {"黄码", "Yellow code"},
	"colour.red":           {"红码", "Red code"},
	"colour.green.means":   {"可以通行", "You may pass"},
	"colour.yellow.means":  {"限制通行：请按下方说明去做", "Restricted: follow the steps below"},
	"colour.red.means":     {"不可通行：请按指引居家或隔离", "Do not pass: stay home or isolate as instructed"},
	"shape.circle":         {"圆形", "circle"},
	"shape.triangle":       {"三角形", "triangle"},
	"shape.square":         {"方形", "square"},
	"code.shape":           {"标记", "mark"},
	"code.holder":          {"持码人", "Holder"},
	"code.region":          {"发码地区", "Issuing region"},
	"code.qr.label":        {"%s的健康码二维码：%s", "Health QR code of %s: %s"},
	"code.now":             {"当前时间", "Time now"},
	"code.valid_until":     {"二维码有效至", "QR valid until"},
	"code.valid_left":      {"剩余", "time left"},
	"code.expired":         {"二维码已过期，正在刷新…", "This QR has expired. Refreshing…"},
	"code.screenshot_note": {"时钟一直在走；时间不动说明是截图。", "The clock keeps moving: a frozen time means a screenshot."},
	"code.region.unknown":  {"未知地区", "unknown region"},

	"why.title":         {"为什么是这个颜色", "Why this colour"},
	"why.rule":          {"规则", "Rule"},
	"why.ruleset":       {"规则集版本", "Rule set"},
	"why.basis":         {"依据", "Legal basis"},
	"why.lift":          {"如何解除", "What lifts it"},
	"why.lifts_at":      {"最早解除时间", "Lifts at the earliest"},
	"why.no_lift":       {"绿码，无需解除。", "Nothing to lift: the code is green."},
	"why.evidence":      {"所依据的记录", "Records it rests on"},
	"why.evidence.none": {"没有记录：按规则默认为绿码。", "No records: green by default under the rules."},
	"evidence.by":       {"提交方", "submitted by"},
	"evidence.case":     {"关联病例", "case"},
	"evidence.dose":     {"第 %d 剂", "dose %d"},
	"evidence.pooled":   {"混管", "pooled"},

	"history.title":       {"变更记录", "History of changes"},
	"history.none":        {"还没有任何变更。", "No changes yet."},
	"history.by":          {"决定者", "Decided by"},
	"history.evidence_by": {"依据的记录来自", "On records from"},
	"history.proof":       {"日志证明", "Log proof"},
	"history.proof.link":  {"下载第 %d 条日志的证明", "Download the proof of log entry %d"},
	"history.proof.none":  {"未记入日志", "not in the log"},
	"history.record":      {"记录 #%d", "record #%d"},
	"actor.rules":         {"规则自动判定（规则集 %s）", "Automatic, by the rules (rule set %s)"},

	"kind.nucleic_acid_test": {"核酸检测", "Nucleic-acid test"},
	"kind.antigen_test":      {"抗原检测", "Antigen test"},
	"kind.vaccination":       {"疫苗接种", "Vaccination"},
	"kind.diagnosis":         {"诊断", "Diagnosis"},
	"kind.close_contact":     {"密切接触者", "Close contact"},
	"kind.secondary_contact": {"次密切接触者", "Secondary contact"},
	"kind.travel":            {"行程", "Travel"},
	"kind.quarantine_start":  {"开始隔离", "Quarantine started"},
	"kind.quarantine_end":    {"结束隔离", "Quarantine ended"},
	"result.positive":        {"阳性", "positive"},
	"result.negative":        {"阴性", "negative"},
	"diagnosis.suspected":    {"疑似病例", "suspected case"},
	"diagnosis.confirmed":    {"确诊病例", "confirmed case"},
	"diagnosis.asymptomatic": {"无症状感染者", "asymptomatic infection"},
	"diagnosis.fever":        {"发热", "fever"},
	"diagnosis.discharged":   {"出院", "discharged"},
	"risk.high":              {"高风险地区", "high-risk area"},
	"risk.medium":            {"中风险地区", "medium-risk area"},
	"risk.low":               {"低风险地区", "low-risk area"},

	"verify.title":              {"核验健康码", "Verify a health code"},
	"verify.intro":              {"扫描对方出示的二维码。您只会看到颜色、打码姓名和有效期，看不到任何医疗信息。", "Scan the QR code a person shows you. You will see the colour, the masked name and the validity: nothing medical."},
	"verify.scan":               {"扫码", "Scan"},
	"verify.camera.start":       {"打开摄像头扫码", "Scan with the camera"},
	"verify.camera.stop":        {"关闭摄像头", "Stop the camera"},
	"verify.camera.label":       {"摄像头画面", "Camera view"},
	"verify.camera.on":          {"摄像头已打开，请对准二维码。", "The camera is on: point it at the QR code."},
	"verify.camera.unavailable": {"无法使用摄像头：请上传照片或粘贴二维码文字。", "The camera is not available: upload a photo or paste the code text."},
	"verify.upload":             {"上传二维码照片或截图", "Upload a photo or screenshot of a QR code"},
	"verify.paste":              {"或粘贴二维码文字（以 HCN1: 开头）", "Or paste the code text (it starts with HCN1:)"},
	"verify.check":              {"核验", "Check"},
	"verify.result":             {"核验结果", "Result"},
	"verify.waiting":            {"等待扫码。", "Waiting for a code."},
	"verify.working":            {"正在核验…", "Checking…"},
	"verify.no_qr":              {"图片中没有找到二维码。", "No QR code found in the picture."},
	"verify.bad_image":          {"无法读取这张图片。", "This picture cannot be read."},
	"verify.valid":              {"有效", "Valid"},
	"verify.invalid":            {"无效", "Not valid"},
	"verify.unchecked":          {"签名未核验", "Signature not checked"},
	"verify.mode.online":        {"已由服务器核验。", "Checked by the server."},
	"verify.mode.offline":       {"离线：已在本设备上用缓存的信任列表核验签名。", "Offline: signature checked on this device against the cached trust list."},
	"verify.mode.unchecked":     {"离线：本设备无法核验签名，以下内容未经核验。", "Offline: this device cannot check the signature; what follows is not verified."},
	"verify.mode.no_trust":      {"离线且没有缓存的信任列表：签名未核验。", "Offline with no cached trust list: signature not checked."},
	"verify.holder":             {"持码人", "Holder"},
	"verify.region":             {"发码地区", "Issuing region"},
	"verify.valid_until":        {"有效至", "Valid until"},
	"verify.issued":             {"签发时间", "Issued at"},
	"verify.ruleset":            {"规则集版本", "Rule set"},
	"verify.trust.status":       {"信任列表：%d 把密钥，更新于 %s。", "Trust list: %d key(s), updated %s."},
	"verify.trust.none":         {"还没有缓存信任列表：请联网打开一次本页。", "No trust list cached yet: open this page once while online."},
	"verify.noscript":           {"核验需要启用 JavaScript。", "Verifying needs JavaScript."},
	"reason.qr.malformed":       {"这不是健康码。", "This is not a health code."},
	"reason.qr.unknown_key":     {"签发密钥不在信任列表中。", "It was signed with a key that is not in the trust list."},
	"reason.qr.bad_signature":   {"签名不符：二维码被改动过。", "The signature does not match: the code was altered."},
	"reason.qr.wrong_region":    {"地区与签发密钥不符。", "The region does not match the signing key."},
	"reason.qr.expired":         {"已过期：请对方刷新健康码。", "Expired: ask the person to refresh their code."},
	"reason.qr.not_yet_valid":   {"签发时间在未来：请检查本设备的时间。", "Issued in the future: check this device's clock."},
	"reason.unknown":            {"无法核验。", "It could not be checked."},
	"error.title.400":           {"请求有误", "Bad request"},
	"error.title.401":           {"需要登录", "Please log in"},
	"error.title.403":           {"无权访问", "Not allowed"},
	"error.title.404":           {"找不到页面", "Page not found"},
	"error.title.409":           {"与现有记录冲突", "Conflict"},
	"error.title.413":           {"内容太大", "Too large"},
	"error.title.500":           {"出错了", "Something went wrong"},
	"error.title.503":           {"暂时不可用", "Temporarily unavailable"},
	"error.body.400":            {"这个请求无法处理。", "This request cannot be handled."},
	"error.body.401":            {"请先登录。", "Please log in first."},
	"error.body.403":            {"您的身份不能打开这个页面。", "Your role may not open this page."},
	"error.body.404":            {"没有这个页面。", "There is no such page."},
	"error.body.409":            {"这与已有的记录冲突。", "This conflicts with a record that exists."},
	"error.body.413":            {"提交的内容太大。", "What was sent is too large."},
	"error.body.500":            {"服务器出错，已记录。请稍后再试。", "The server failed; it has been logged. Please try again later."},
	"error.body.503":            {"服务暂时不可用，请稍后再试。", "The service is unavailable for now. Please try again shortly."},
	"error.code":                {"错误代码", "Error code"},
	"error.home":                {"返回首页", "Back to the start"},

	// Provinces (GB/T 2260, first two digits): a region code is shown with
	// its province.
	"province.11": {"北京市", "Beijing"}, "province.12": {"天津市", "Tianjin"}, "province.13": {"河北省", "Hebei"},
	"province.14": {"山西省", "Shanxi"}, "province.15": {"内蒙古自治区", "Inner Mongolia"}, "province.21": {"辽宁省", "Liaoning"},
	"province.22": {"吉林省", "Jilin"}, "province.23": {"黑龙江省", "Heilongjiang"}, "province.31": {"上海市", "Shanghai"},
	"province.32": {"江苏省", "Jiangsu"}, "province.33": {"浙江省", "Zhejiang"}, "province.34": {"安徽省", "Anhui"},
	"province.35": {"福建省", "Fujian"}, "province.36": {"江西省", "Jiangxi"}, "province.37": {"山东省", "Shandong"},
	"province.41": {"河南省", "Henan"}, "province.42": {"湖北省", "Hubei"}, "province.43": {"湖南省", "Hunan"},
	"province.44": {"广东省", "Guangdong"}, "province.45": {"广西壮族自治区", "Guangxi"}, "province.46": {"海南省", "Hainan"},
	"province.50": {"重庆市", "Chongqing"}, "province.51": {"四川省", "Sichuan"}, "province.52": {"贵州省", "Guizhou"},
	"province.53": {"云南省", "Yunnan"}, "province.54": {"西藏自治区", "Xizang"}, "province.61": {"陕西省", "Shaanxi"},
	"province.62": {"甘肃省", "Gansu"}, "province.63": {"青海省", "Qinghai"}, "province.64": {"宁夏回族自治区", "Ningxia"},
	"province.65": {"新疆维吾尔自治区", "Xinjiang"}, "province.71": {"台湾省", "Taiwan"}, "province.81": {"香港特别行政区", "Hong Kong"},
	"province.82": {"澳门特别行政区", "Macao"},
}

// jsPrefixes select the messages the verifier's script needs.
var jsPrefixes = []string{"verify.", "reason.", "colour.", "shape.", "province.", "code.region.unknown"}

// translate returns the message key in lang, or a visible marker for a key
// missing from the table (a test renders every page to find them).
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return "[[" + key + "]]"
	}
	if lang == langEN {
		return m.en
	}
	return m.zh
}

// pageData is what every template gets. Methods translate and format in
// the page's language.
type pageData struct {
	Lang string // langZH or langEN
	// Title is the message key of the page's title (and its h1).
	Title string
	// Path is the page's path, for the language link.
	Path string
	// Error and Notice are message keys shown at the top of a form.
	Error, Notice string
	// Status and Code describe an error page.
	Status    int
	ErrorCode string
	Scripts   []string

	// The citizen page.
	Code      *MyCodeJSON
	QRSVG     template.HTML
	QRSeconds int64 // seconds the QR stays valid, from the server's clock
	Now       time.Time
	History   []historyRow

	// The verifier page: the messages its script shows.
	JS map[string]string
}

// historyRow is one past decision as the citizen page shows it.
type historyRow struct {
	When       string
	Colour     string
	Shape      string
	Reason     string
	Actor      string
	Submitters string
	LogIndex   int64
}

// T translates a message key.
func (d *pageData) T(key string) string { return translate(d.Lang, key) }

// Tf translates a message key and formats it with args.
func (d *pageData) Tf(key string, args ...any) string { return fmt.Sprintf(d.T(key), args...) }

// Text picks the page's language of a bilingual text, falling back to the
// other language when one is empty.
func (d *pageData) Text(t healthcode.Text) string {
	if d.Lang == langEN && t.EN != "" || t.ZH == "" {
		return t.EN
	}
	return t.ZH
}

// HTMLLang is the lang attribute of the page.
func (d *pageData) HTMLLang() string {
	if d.Lang == langEN {
		return "en"
	}
	return "zh-CN"
}

// OtherLang is the language the switch link leads to.
func (d *pageData) OtherLang() string {
	if d.Lang == langEN {
		return langZH
	}
	return langEN
}

// OtherHTMLLang is the lang attribute of the switch link's text.
func (d *pageData) OtherHTMLLang() string {
	if d.Lang == langEN {
		return "zh-CN"
	}
	return "en"
}

// SwitchURL is the page's path in the other language.
func (d *pageData) SwitchURL() string {
	return d.Path + "?lang=" + url.QueryEscape(d.OtherLang())
}

// Time formats a time.Time or *time.Time in Beijing time, to the minute.
func (d *pageData) Time(v any) string { return formatTime(v, "2006-01-02 15:04") }

// Clock formats a time to the second.
func (d *pageData) Clock(v any) string { return formatTime(v, "2006-01-02 15:04:05") }

// ISO formats a time for a datetime attribute.
func (d *pageData) ISO(v any) string { return formatTime(v, time.RFC3339) }

func formatTime(v any, layout string) string {
	switch t := v.(type) {
	case time.Time:
		return t.In(displayZone).Format(layout)
	case *time.Time:
		if t != nil {
			return t.In(displayZone).Format(layout)
		}
	}
	return ""
}

// Region names a GB/T 2260 region code with its province.
func (d *pageData) Region(code string) string {
	if len(code) >= 2 {
		if _, ok := messages["province."+code[:2]]; ok {
			return code + " " + d.T("province."+code[:2])
		}
	}
	return code + " (" + d.T("code.region.unknown") + ")"
}

// Evidence describes one record in words: kind, result, time, submitter.
func (d *pageData) Evidence(e EvidenceOutJSON) string {
	parts := []string{d.T("kind." + e.Kind)}
	if e.Result != "" {
		parts = append(parts, d.T("result."+e.Result))
	}
	if e.Pooled {
		parts = append(parts, d.T("evidence.pooled"))
	}
	if e.Diagnosis != "" {
		parts = append(parts, d.T("diagnosis."+e.Diagnosis))
	}
	if e.RiskLevel != "" {
		parts = append(parts, d.T("risk."+e.RiskLevel))
	}
	if e.CaseRef != "" {
		parts = append(parts, d.T("evidence.case")+" "+e.CaseRef)
	}
	parts = append(parts, d.Time(e.ObservedAt), d.T("evidence.by")+" "+e.SubmitterName)
	return strings.Join(parts, " · ")
}

// QRLabel is the accessible name of the QR image.
func (d *pageData) QRLabel() string {
	if d.Code == nil {
		return ""
	}
	return d.Tf("code.qr.label", d.Code.MaskedName, d.T("colour."+d.Code.Decision.Colour))
}

// actorText says who made a decision: the rules, or the named official.
func (d *pageData) actorText(actor string) string {
	if v, ok := strings.CutPrefix(actor, "rules:"); ok {
		return d.Tf("actor.rules", v)
	}
	return actor
}

// historyRows describes the citizen's past decisions, newest first, each
// with who made it and who submitted the records it rests on.
func (d *pageData) historyRows(c *MyCodeJSON) []historyRow {
	names := map[int64]string{}
	for _, e := range c.Evidence {
		names[e.ID] = e.SubmitterName
	}
	rows := make([]historyRow, 0, len(c.History))
	for _, h := range c.History {
		var subs []string
		seen := map[string]bool{}
		for _, id := range h.EvidenceIDs {
			s, ok := names[id]
			if !ok {
				// The record is not among the current decision's: the
				// answer names only those submitters.
				s = d.Tf("history.record", id)
			}
			if !seen[s] {
				seen[s] = true
				subs = append(subs, s)
			}
		}
		rows = append(rows, historyRow{When: d.Time(h.DecidedAt), Colour: h.Colour, Shape: h.Shape,
			Reason: d.Text(h.Text), Actor: d.actorText(h.Actor), Submitters: strings.Join(subs, "、"), LogIndex: h.LogIndex})
	}
	return rows
}

// jsMessages are the strings the verifier's script shows, in lang.
func jsMessages(lang string) map[string]string {
	out := map[string]string{}
	for k := range messages {
		for _, p := range jsPrefixes {
			if strings.HasPrefix(k, p) {
				out[k] = translate(lang, k)
			}
		}
	}
	return out
}

// newPage starts a page's data in the request's language; a language
// chosen with the lang parameter is remembered in a cookie.
func newPage(w http.ResponseWriter, r *http.Request, title string) *pageData {
	lang, fromParam := negotiateLang(r)
	if fromParam {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	return &pageData{Lang: lang, Title: title, Path: r.URL.Path}
}

// pageCSP allows nothing from another host, no inline script and no inline
// style; data: images only for the empty favicon.
const pageCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) render(w http.ResponseWriter, status int, name string, d *pageData) error {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, d); err != nil {
		return fmt.Errorf("http.render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", d.HTMLLang())
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// pageRoutes are the server-rendered pages and their assets. Page handlers
// answer their errors with an HTML page (htmlErrors).
func (s *Server) pageRoutes() []route {
	return []route{
		// The citizen page reads the session cookie itself (Page is false):
		// a stale cookie must lead to the login form, not to an error.
		{Method: "GET", Path: "/{$}", h: s.htmlErrors(s.citizenPage)},
		// Logging in and out need no session: a stale cookie must not
		// block either.
		{Method: "POST", Path: "/login", h: s.htmlErrors(s.login)},
		{Method: "POST", Path: "/logout", h: s.htmlErrors(s.logout)},
		{Method: "GET", Path: "/verify", h: s.htmlErrors(s.verifyPage)},
		{Method: "GET", Path: "/static/{file}", h: serveStatic},
	}
}

// htmlErrors answers a page handler's error with the error page.
func (s *Server) htmlErrors(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		err := h(w, r, p)
		if err == nil {
			return nil
		}
		if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
			s.Logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if rerr := s.renderError(w, r, err); rerr != nil {
			return err
		}
		return nil
	}
}

// pageProblem answers err with an HTML error page when the request comes
// from a browser navigating to a page (it accepts text/html and is not for
// the API, the log or the probes), and reports whether it did. problem()
// in http.go can call it first, so that a 404 or a 401 met before any page
// handler runs (no route; a session cookie that no longer authenticates)
// reaches a person as a page in their language, not as JSON.
func (s *Server) pageProblem(w http.ResponseWriter, r *http.Request, err error) bool {
	if !wantsHTML(r) {
		return false
	}
	return s.renderError(w, r, err) == nil
}

func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		return false
	}
	for _, p := range []string{"/api/", "/log/", "/static/", "/healthz", "/metrics"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// renderError writes the error page of err. A 401 is the login form (and
// clears a session cookie that no longer authenticates).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) error {
	code := healthcode.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		if _, cerr := r.Cookie(sessionCookie); cerr == nil {
			clearSession(w, r)
		}
		d := newPage(w, r, "login.title")
		d.Path = "/"
		d.Notice = "login.session_ended"
		return s.render(w, status, "login.html", d)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	d := newPage(w, r, "error.title."+strconv.Itoa(status))
	d.Status, d.ErrorCode = status, healthcode.ErrorDetail(err)
	if d.ErrorCode == "" {
		d.ErrorCode = code
	}
	if _, known := messages[d.Title]; !known {
		d.Title, d.Status = "error.title.500", http.StatusInternalServerError
	}
	return s.render(w, status, "error.html", d)
}

// sessionPrincipal authenticates the session cookie, if any. stale reports
// a cookie that no longer authenticates.
func (s *Server) sessionPrincipal(r *http.Request) (p *healthcode.Principal, stale bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, false
	}
	p, err = s.Auth.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, true
	}
	return p, false
}

// citizenPage shows the logged-in citizen's code, or the login form.
func (s *Server) citizenPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "citizen.title")
	if p == nil {
		var stale bool
		if p, stale = s.sessionPrincipal(r); stale {
			clearSession(w, r)
			d.Title, d.Notice = "login.title", "login.session_ended"
			return s.render(w, http.StatusUnauthorized, "login.html", d)
		}
	}
	if p == nil || p.Role != healthcode.RoleCitizen {
		d.Title = "login.title"
		return s.render(w, http.StatusOK, "login.html", d)
	}
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	svg, err := s.Signer.SVG(cc.qr)
	if err != nil {
		return err
	}
	var code MyCodeJSON
	if err := json.Unmarshal(cc.body, &code); err != nil {
		return fmt.Errorf("http.citizenPage: %w", err)
	}
	d.Code, d.Now = &code, s.Clock.Now()
	d.QRSVG = template.HTML(labelSVG(svg, d.QRLabel()))
	d.QRSeconds = max(int64(code.QRExpires.Sub(d.Now)/time.Second), 0)
	d.History = d.historyRows(&code)
	d.Scripts = []string{"/static/clock.js"}
	return s.render(w, http.StatusOK, "citizen.html", d)
}

// labelSVG gives the QR image its accessible name in the page's language.
func labelSVG(svg []byte, label string) string {
	return strings.Replace(string(svg), `role="img"`, `role="img" aria-label="`+template.HTMLEscapeString(label)+`"`, 1)
}

// sameOrigin refuses a form posted from another site (login CSRF). A
// browser says where a request comes from in Sec-Fetch-Site; older ones
// only in Origin, compared with the Host the request was sent to.
func sameOrigin(r *http.Request) error {
	crossSite := healthcode.Errorfd(healthcode.EFORBIDDEN, "http.cross_site", "a form from another site")
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site != "same-origin" && site != "none" {
			return crossSite
		}
		return nil
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return crossSite
		}
	}
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return healthcode.Errorfd(healthcode.EINVALID, "http.form", "malformed form")
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	p, err := s.Auth.Authenticate(r.Context(), tok)
	if err != nil || p.Role != healthcode.RoleCitizen {
		d := newPage(w, r, "login.title")
		d.Path, d.Error = "/", "login.bad"
		return s.render(w, http.StatusUnauthorized, "login.html", d)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	clearSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// verifyPage is the checkpoint verifier: public, and usable offline once
// loaded (static/sw.js keeps it, static/verify.js keeps the trust list).
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	d := newPage(w, r, "verify.title")
	d.JS = jsMessages(d.Lang)
	d.Scripts = []string{"/static/jsQR.js", "/static/verify.js"}
	return s.render(w, http.StatusOK, "verify.html", d)
}

// staticTypes are the content types of the embedded assets.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml",
}

// gzipped holds the compressed assets, made on first request.
var gzipped sync.Map // name → []byte

func serveStatic(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	name := path.Clean(r.PathValue("file"))
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_asset", "no asset %q", name)
	}
	h := w.Header()
	if ct, ok := staticTypes[path.Ext(name)]; ok {
		h.Set("Content-Type", ct)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	if name == "sw.js" {
		// The service worker controls /verify, above its own directory,
		// and must be rechecked on every load to pick up a new version.
		h.Set("Service-Worker-Allowed", "/")
		h.Set("Cache-Control", "no-cache")
	}
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 1024 && acceptsGzip(r) {
		z, err := gzipAsset(name, b)
		if err != nil {
			return err
		}
		h.Set("Content-Encoding", "gzip")
		b = z
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(enc, "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func gzipAsset(name string, b []byte) ([]byte, error) {
	if z, ok := gzipped.Load(name); ok {
		return z.([]byte), nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("http.gzipAsset: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("http.gzipAsset: %w", err)
	}
	z, _ := gzipped.LoadOrStore(name, buf.Bytes())
	return z.([]byte), nil
}

// messageKeys lists the table's keys in order, for tests.
func messageKeys() []string {
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
