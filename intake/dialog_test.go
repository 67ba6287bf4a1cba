package intake

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dialogEnv builds an environment with the default templates.
func dialogEnv(t testing.TB, cats []Category, volunteer bool, limit int) DialogEnv {
	t.Helper()
	texts, err := NewTexts(nil)
	if err != nil {
		t.Fatalf("NewTexts: %v", err)
	}
	return DialogEnv{Categories: cats, Volunteer: volunteer, Limit: limit, Texts: texts}
}

// manyCategories returns n categories with long names, LAINNYA last.
func manyCategories(n int) []Category {
	cats := make([]Category, 0, n)
	for i := 1; i < n; i++ {
		cats = append(cats, Category{Code: fmt.Sprintf("K%02d", i), Name: fmt.Sprintf("Kategori Nomor %d Panjang Sekali", i)})
	}
	return append(cats, Category{Code: "LAINNYA", Name: "Lainnya"})
}

// longNames gives the default categories the longer names of the
// shipped config file, which do not fit on one page.
func longNames(cats []Category) []Category {
	long := map[string]string{"BANJIR": "Banjir dan Drainase", "LALIN": "Lalu Lintas dan Parkir",
		"ADMINDUK": "Administrasi Kependudukan"}
	for i, c := range cats {
		if n, ok := long[c.Code]; ok {
			cats[i].Name = n
		}
	}
	return cats
}

// walk feeds inputs one by one from the main menu, as SMS sessions do,
// checking every output on the way.
func walk(t testing.TB, env DialogEnv, inputs ...string) DialogOutput {
	t.Helper()
	out := StartDialog(env)
	checkOutput(t, env, out, "start")
	for i, in := range inputs {
		if out.End {
			t.Fatalf("input %d (%q) after the dialog ended", i, in)
		}
		out = StepDialog(env, out.State, in)
		checkOutput(t, env, out, "after %q", inputs[:i+1])
	}
	return out
}

// checkOutput asserts what holds for every output; where (a format and
// its arguments) names the step, formatted only on failure.
func checkOutput(t testing.TB, env DialogEnv, out DialogOutput, where string, args ...any) {
	t.Helper()
	limit := env.Limit
	if limit <= 0 {
		limit = LimitSMS
	}
	var problem string
	switch {
	case Septets(out.Text) > limit:
		problem = fmt.Sprintf("prompt of %d septets over the limit %d", Septets(out.Text), limit)
	case !out.End && strings.TrimSpace(out.Text) == "":
		problem = "empty prompt in a dialog that continues"
	case !slices.Contains(DialogSteps, out.State.Step):
		problem = "unknown step"
	case out.Action != ActionNone && !out.End:
		problem = "action without End"
	case out.Action == ActionStatus && (out.Ticket == "" || strings.Trim(out.Ticket, "0123456789") != ""):
		problem = "status action without a ticket number"
	case out.Action == ActionFile && utf8Count(out.State.Description) < minDescription:
		problem = "filing without a description"
	case !IsGSM7(out.Text):
		problem = "prompt not GSM-7"
	default:
		return
	}
	t.Fatalf("%s: %s: %q %+v", fmt.Sprintf(where, args...), problem, out.Text, out)
}

func utf8Count(s string) int { return len([]rune(s)) }

func TestStartDialog(t *testing.T) {
	tests := []struct {
		name      string
		volunteer bool
		want      []string
		wantNot   []string
	}{
		{"Resident", false, []string{"1 Sambat baru", "2 Cek status", "3 Bantuan"}, []string{"4 "}},
		{"Volunteer", true, []string{"1 Sambat baru", "2 Cek status", "3 Bantuan", "4 Sambat utk warga"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := StartDialog(dialogEnv(t, DefaultCategories(), tt.volunteer, LimitSMS))
			if out.End || out.Action != ActionNone || out.State.Step != StepMain {
				t.Fatalf("got %+v, want the main menu", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.Text, w) {
					t.Errorf("got %q, want it to contain %q", out.Text, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out.Text, w) {
					t.Errorf("got %q, want no %q", out.Text, w)
				}
			}
		})
	}
}

// dialogPath is one walk through the dialog and where it must end.
type dialogPath struct {
	name      string
	volunteer bool
	inputs    []string
	want      DialogOutput // Text is not compared
	contains  string       // in the final text
}

var dialogPaths = []dialogPath{
	{"NewComplaint", false, []string{"1", "1", "Jl Ijen 5", "jalan berlubang besar", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "JALAN",
			Location: "Jl Ijen 5", Description: "jalan berlubang besar"}}, "diproses"},
	{"NoLocation", false, []string{"1", "3", "-", "sampah numpuk 3 hari", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "SAMPAH",
			Description: "sampah numpuk 3 hari"}}, "Sampah"},
	{"CategoryByCode", false, []string{"1", "banjir", "Jl Soekarno Hatta", "got mampet", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "BANJIR",
			Location: "Jl Soekarno Hatta", Description: "got mampet"}}, ""},
	{"CategoryByAlias", false, []string{"1", " Lampu ", "gang 3", "lampu mati", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "PJU",
			Location: "gang 3", Description: "lampu mati"}}, ""},
	{"CategoryByName", false, []string{"1", "ketertiban umum", "alun-alun", "pengamen", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "TIBUM",
			Location: "alun-alun", Description: "pengamen"}}, ""},
	{"Status", false, []string{"2", "no. 4821-303"},
		DialogOutput{End: true, Action: ActionStatus, Ticket: "4821303", State: DialogState{Step: StepStatus}}, "4821303"},
	{"StatusBack", false, []string{"2", "0"}, DialogOutput{State: DialogState{Step: StepMain}}, "1 Sambat baru"},
	{"StatusWrong", false, []string{"2", "nomornya lupa"}, DialogOutput{State: DialogState{Step: StepStatus}}, "Pilihan salah."},
	{"Help", false, []string{"3"}, DialogOutput{End: true, Action: ActionHelp, State: DialogState{Step: StepMain}}, "SAMBAT <isi>"},
	{"MainWrong", false, []string{"7"}, DialogOutput{State: DialogState{Step: StepMain}}, "Pilihan salah."},
	{"MainBack", false, []string{"0"}, DialogOutput{State: DialogState{Step: StepMain}}, "1 Sambat baru"},
	{"KIMNotVolunteer", false, []string{"4"}, DialogOutput{State: DialogState{Step: StepMain}}, "Pilihan salah."},
	{"KIM", true, []string{"4", "0812-3456-7890", "Bu Sri", "1", "Jl Ijen", "jalan rusak parah", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "JALAN",
			Location: "Jl Ijen", Description: "jalan rusak parah", Resident: "+6281234567890",
			ResidentName: "Bu Sri", ForResident: true}}, ""},
	{"KIMNoPhoneNoName", true, []string{"4", "-", "-", "lainnya", "-", "minta info bansos", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "LAINNYA",
			Description: "minta info bansos", ForResident: true}}, ""},
	{"KIMBadPhone", true, []string{"4", "12ab"},
		DialogOutput{State: DialogState{Step: StepKIMPhone, ForResident: true}}, "No HP tidak valid."},
	{"KIMPhoneBack", true, []string{"4", "0"}, DialogOutput{State: DialogState{Step: StepMain}}, "4 Sambat utk warga"},
	{"KIMNameBack", true, []string{"4", "081234567890", "0"},
		DialogOutput{State: DialogState{Step: StepKIMPhone, ForResident: true}}, "no HP warga"},
	{"KIMCategoryBack", true, []string{"4", "081234567890", "Pak Min", "0"},
		DialogOutput{State: DialogState{Step: StepKIMName, Resident: "+6281234567890", ForResident: true}}, "Nama warga"},
	{"KIMNameEmpty", true, []string{"4", "-", ""},
		DialogOutput{State: DialogState{Step: StepKIMName, ForResident: true}}, "Pilihan salah."},
	{"CategoryBack", false, []string{"1", "0"}, DialogOutput{State: DialogState{Step: StepMain}}, "1 Sambat baru"},
	{"CategoryWrong", false, []string{"1", "bukan kategori"}, DialogOutput{State: DialogState{Step: StepCategory}}, "Pilihan salah."},
	{"CategoryOutOfRange", false, []string{"1", "77"}, DialogOutput{State: DialogState{Step: StepCategory}}, "Pilihan salah."},
	{"LocationBack", false, []string{"1", "2", "0"}, DialogOutput{State: DialogState{Step: StepCategory}}, "Pilih kategori"},
	{"LocationEmpty", false, []string{"1", "2", "  "},
		DialogOutput{State: DialogState{Step: StepLocation, Category: "POHON"}}, "Pilihan salah."},
	{"DescriptionBack", false, []string{"1", "2", "Jl Ijen", "0"},
		DialogOutput{State: DialogState{Step: StepLocation, Category: "POHON"}}, "lokasinya"},
	{"DescriptionShort", false, []string{"1", "2", "Jl Ijen", "ab"},
		DialogOutput{State: DialogState{Step: StepDescription, Category: "POHON", Location: "Jl Ijen"}}, "Terlalu pendek"},
	{"ConfirmBack", false, []string{"1", "2", "Jl Ijen", "pohon tumbang", "0"},
		DialogOutput{State: DialogState{Step: StepDescription, Category: "POHON", Location: "Jl Ijen"}}, "isi sambat"},
	{"ConfirmWrong", false, []string{"1", "2", "Jl Ijen", "pohon tumbang", "5"},
		DialogOutput{State: DialogState{Step: StepConfirm, Category: "POHON", Location: "Jl Ijen",
			Description: "pohon tumbang"}}, "Pilihan salah."},
	{"ConfirmChange", false, []string{"1", "2", "Jl Ijen", "pohon tumbang", "2"},
		DialogOutput{State: DialogState{Step: StepCategory, Location: "Jl Ijen", Description: "pohon tumbang"}}, "Pilih kategori"},
	{"ConfirmChangeThenSend", false, []string{"1", "2", "Jl Ijen", "pohon tumbang", "2", "3", "Jl Ijen 2", "sampah", "1"},
		DialogOutput{End: true, Action: ActionFile, State: DialogState{Step: StepConfirm, Category: "SAMPAH",
			Location: "Jl Ijen 2", Description: "sampah"}}, ""},
	{"ConfirmCancel", false, []string{"1", "2", "Jl Ijen", "pohon tumbang", "3"},
		DialogOutput{End: true, State: DialogState{Step: StepMain}}, "dibatalkan"},
	{"MainMenuFromConfirm", false, []string{"1", "2", "Jl Ijen", "pohon tumbang", "00"},
		DialogOutput{State: DialogState{Step: StepMain}}, "1 Sambat baru"},
	{"MainMenuFromLocation", true, []string{"4", "-", "Bu Sri", "2", "00"},
		DialogOutput{State: DialogState{Step: StepMain}}, "4 Sambat utk warga"},
	{"MainMenuThenAgain", false, []string{"1", "00", "2", "4821303"},
		DialogOutput{End: true, Action: ActionStatus, Ticket: "4821303", State: DialogState{Step: StepStatus}}, ""},
}

// compareFinal checks the final output of a path, ignoring its text.
func compareFinal(t *testing.T, p dialogPath, got DialogOutput) {
	t.Helper()
	text := got.Text
	got.Text = ""
	if diff := cmp.Diff(p.want, got); diff != "" {
		t.Errorf("final output mismatch (-want +got):\n%s\ntext: %q", diff, text)
	}
	if !strings.Contains(text, p.contains) {
		t.Errorf("final text %q does not contain %q", text, p.contains)
	}
}

func TestStepDialog_Paths(t *testing.T) {
	for _, p := range dialogPaths {
		t.Run(p.name, func(t *testing.T) {
			env := dialogEnv(t, DefaultCategories(), p.volunteer, LimitSMS)
			compareFinal(t, p, walk(t, env, p.inputs...))
		})
	}
}

func TestReplayUSSD_Paths(t *testing.T) {
	for _, p := range dialogPaths {
		t.Run(p.name, func(t *testing.T) {
			env := dialogEnv(t, DefaultCategories(), p.volunteer, LimitUSSD)
			got := ReplayUSSD(env, strings.Join(p.inputs, "*"))
			checkOutput(t, env, got, "replay")
			compareFinal(t, p, got)
		})
	}
}

func TestReplayUSSD(t *testing.T) {
	env := dialogEnv(t, DefaultCategories(), false, LimitUSSD)
	if got, want := ReplayUSSD(env, ""), StartDialog(env); !cmp.Equal(got, want) {
		t.Errorf("empty text: got %+v, want the main menu %+v", got, want)
	}
	// Inputs after the end are ignored: the replay files once, as the
	// dialog ended, and never starts a second complaint.
	got := ReplayUSSD(env, "1*1*Jl Ijen*jalan rusak*1*1*2")
	if got.Action != ActionFile || got.State.Category != "JALAN" {
		t.Errorf("got %+v, want the first filing", got)
	}
	if got := ReplayUSSD(env, "3*1"); got.Action != ActionHelp || !got.End {
		t.Errorf("got %+v, want help", got)
	}
}

func TestStepDialog_UnknownStep(t *testing.T) {
	env := dialogEnv(t, DefaultCategories(), false, LimitSMS)
	got := StepDialog(env, DialogState{Step: "garbage", Category: "X"}, "1")
	if got.State != (DialogState{Step: StepMain}) || got.End {
		t.Errorf("got %+v, want a fresh main menu", got)
	}
}

func TestStepDialog_VolunteerRemoved(t *testing.T) {
	env := dialogEnv(t, DefaultCategories(), false, LimitSMS)
	states := []DialogState{
		{Step: StepKIMPhone, ForResident: true},
		{Step: StepKIMPhone},
		{Step: StepKIMName, Resident: "+6281234567890"},
		{Step: StepConfirm, Category: "JALAN", Description: "jalan rusak", ForResident: true},
	}
	for _, st := range states {
		got := StepDialog(env, st, "1")
		if got.State != (DialogState{Step: StepMain}) || got.Action != ActionNone {
			t.Errorf("from %+v got %+v, want the main menu once the number is no volunteer", st, got)
		}
	}
}

func TestStepDialog_StatusNumber(t *testing.T) {
	env := dialogEnv(t, DefaultCategories(), false, LimitSMS)
	tests := []struct{ in, want string }{
		{"4821303", "4821303"},
		{"no. 4821-303", "4821303"},
		{"tiket 4821 303 jalan", "4821303"},
		{"4821303 2 lubang", "4821303"},
		{strings.Repeat("1", 21), ""},
		{"belum tahu", ""},
	}
	for _, tt := range tests {
		got := StepDialog(env, DialogState{Step: StepStatus}, tt.in)
		if tt.want == "" {
			if got.Action != ActionNone || got.State.Step != StepStatus || !strings.HasPrefix(got.Text, "Pilihan salah.") {
				t.Errorf("%q: got %+v, want the prompt again", tt.in, got)
			}
			continue
		}
		if got.Action != ActionStatus || got.Ticket != tt.want || !got.End {
			t.Errorf("%q: got %v %q end=%v, want status %q", tt.in, got.Action, got.Ticket, got.End, tt.want)
		}
	}
}

func TestStepDialog_NoCategories(t *testing.T) {
	env := dialogEnv(t, nil, false, LimitSMS)
	got := walk(t, env, "1", "Jl Ijen", "0", "1", "-", "jalan rusak", "1")
	if got.Action != ActionFile || got.State.Category != "" || got.State.Description != "jalan rusak" {
		t.Errorf("got %+v, want a filing with no category (inferred by the engine)", got)
	}
}

// optionLines returns the numbered options of a category page.
func optionLines(text string) map[int]string {
	opts := map[int]string{}
	for _, line := range strings.Split(text, "\n") {
		num, label, ok := strings.Cut(line, " ")
		n, err := strconv.Atoi(num)
		if ok && err == nil && n >= 1 && n <= 9 && label != "Lanjut" {
			opts[n] = label
		}
	}
	return opts
}

func TestStepDialog_Paging(t *testing.T) {
	sets := map[string][]Category{"Default9": DefaultCategories(), "Long9": longNames(DefaultCategories()),
		"Many25": manyCategories(25), "Three": DefaultCategories()[6:]}
	for name, cats := range sets {
		for _, limit := range []int{LimitSMS, LimitUSSD} {
			t.Run(fmt.Sprintf("%s/%d", name, limit), func(t *testing.T) {
				checkPaging(t, dialogEnv(t, cats, false, limit))
			})
		}
	}
}

// checkPaging walks every page with 9 and back with 0, chooses every
// option, and checks each category is offered once, in config order.
func checkPaging(t *testing.T, env DialogEnv) {
	page := walk(t, env, "1")
	var seen []string
	for p := 0; ; p++ {
		if page.State.Step != StepCategory || page.State.Page != p {
			t.Fatalf("page %d: got state %+v", p, page.State)
		}
		opts := optionLines(page.Text)
		for n := 1; n <= len(opts); n++ {
			out := StepDialog(env, page.State, strconv.Itoa(n))
			checkOutput(t, env, out, "page %d option %d", p, n)
			if out.State.Step != StepLocation {
				t.Fatalf("page %d option %d: got step %q", p, n, out.State.Step)
			}
			seen = append(seen, out.State.Category)
		}
		wrong := StepDialog(env, page.State, "bukan")
		checkOutput(t, env, wrong, "wrong choice")
		if !strings.HasPrefix(wrong.Text, "Pilihan salah.") || wrong.State != page.State {
			t.Fatalf("page %d: wrong choice gave %q %+v", p, wrong.Text, wrong.State)
		}
		more := strings.Contains(page.Text, "9 Lanjut")
		if !more {
			break
		}
		next := StepDialog(env, page.State, "9")
		checkOutput(t, env, next, "next page")
		if next.State.Page == 0 {
			break // wrapped around
		}
		if back := StepDialog(env, next.State, "0"); back.Text != page.Text {
			t.Fatalf("page %d: 0 gave %q, want the previous page %q", p+1, back.Text, page.Text)
		}
		page = next
	}
	var want []string
	for _, c := range env.Categories {
		want = append(want, c.Code)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("categories offered (-want +got):\n%s", diff)
	}
	first := walk(t, env, "1").Text
	if len(env.Categories) > 9 && !strings.Contains(first, "9 Lanjut") {
		t.Errorf("%d categories on one page", len(env.Categories))
	}
	if len(env.Categories) <= 3 && strings.Contains(first, "9 Lanjut") {
		t.Errorf("%d categories on several pages: %q", len(env.Categories), first)
	}
}

func TestStepDialog_ConfirmSummary(t *testing.T) {
	long := strings.Repeat("jalan berlubang sangat dalam dan membahayakan pengendara motor ", 10)
	for _, limit := range []int{LimitSMS, LimitUSSD} {
		env := dialogEnv(t, manyCategories(25), true, limit)
		out := walk(t, env, "4", "081234567890", strings.Repeat("Nama Panjang ", 10), "1",
			strings.Repeat("Jl Ijen nomor 5 RT 3 RW 4 ", 8), long)
		if out.State.Step != StepConfirm {
			t.Fatalf("got step %q, want confirm", out.State.Step)
		}
		for _, w := range []string{"Kategori Nomor 1", "jalan berlubang", "..", "1 Kirim", "0 Kembali"} {
			if !strings.Contains(out.Text, w) {
				t.Errorf("limit %d: confirm %q lacks %q", limit, out.Text, w)
			}
		}
		if got := out.State.Description; got != strings.TrimSpace(long) {
			t.Errorf("description kept as %q, want it whole", got)
		}
	}
}

func TestDialog_LongTemplateOverride(t *testing.T) {
	texts, err := NewTexts(map[string]string{"menu_main": strings.Repeat("Menu utama sangat panjang ", 20)})
	if err != nil {
		t.Fatal(err)
	}
	env := DialogEnv{Categories: DefaultCategories(), Limit: LimitSMS, Texts: texts}
	out := StartDialog(env)
	checkOutput(t, env, out, "override")
	if !strings.HasSuffix(out.Text, "..") {
		t.Errorf("got %q, want a cut prompt", out.Text)
	}
}

func TestDialogState_JSON(t *testing.T) {
	st := DialogState{Step: StepConfirm, Page: 1, Category: "JALAN", Location: "Jl Ijen", Description: "rusak",
		Resident: "+6281234567890", ResidentName: "Bu Sri", ForResident: true}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"step":"confirm","page":1,"category":"JALAN","location":"Jl Ijen","description":"rusak",` +
		`"resident":"+6281234567890","resident_name":"Bu Sri","for_resident":true}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back DialogState
	if err := json.Unmarshal(b, &back); err != nil || back != st {
		t.Errorf("round trip: got %+v (%v), want %+v", back, err, st)
	}
}

// randomInputs is the alphabet of the property test.
var randomInputs = []string{"0", "00", "1", "2", "3", "4", "5", "6", "7", "8", "9", "99", "", "-",
	"teks bebas", "*", " 1 ", "sampah", "Jl. Ijen No. 5", "081234567890", strings.Repeat("panjang sekali ", 40),
	"jalan “rusak” 😡 ñ €", "\x00\xff", "ꦱꦩ꧀ꦧꦠ꧀"}

func TestStepDialog_Property(t *testing.T) {
	rng := rand.New(rand.NewSource(20241219))
	envs := []DialogEnv{
		dialogEnv(t, DefaultCategories(), false, LimitSMS),
		dialogEnv(t, DefaultCategories(), true, LimitUSSD),
		dialogEnv(t, manyCategories(25), true, LimitSMS),
		dialogEnv(t, manyCategories(25), false, LimitUSSD),
		dialogEnv(t, nil, true, LimitSMS),
	}
	ends := map[DialogAction]int{}
	const sequences = 2000
	for i := range sequences {
		env := envs[i%len(envs)]
		inputs := make([]string, 1+rng.Intn(15))
		for j := range inputs {
			inputs[j] = randomInputs[rng.Intn(len(randomInputs))]
		}
		out := StartDialog(env)
		for j, in := range inputs {
			out = StepDialog(env, out.State, in)
			checkOutput(t, env, out, "sequence %d %q", i, inputs[:j+1])
			if out.End {
				ends[out.Action]++
				break
			}
		}
		// A replay of the same keys is the same walk (unless a key holds
		// the separator, or the text is empty: the first screen); checking
		// a sample keeps the test quick.
		if text := strings.Join(inputs, "*"); i%5 == 0 && text != "" && !slices.Contains(inputs, "*") {
			replay := ReplayUSSD(env, text)
			if !cmp.Equal(replay, out) {
				t.Fatalf("sequence %d %q: replay %+v, steps %+v", i, inputs, replay, out)
			}
		}
	}
	// The walk must reach every ending, or it tests little.
	for _, a := range []DialogAction{ActionNone, ActionFile, ActionStatus, ActionHelp} {
		if ends[a] == 0 {
			t.Errorf("no random sequence ended with action %v", a)
		}
	}
}

func FuzzDialog(f *testing.F) {
	for _, p := range dialogPaths {
		f.Add(strings.Join(p.inputs, "*"), uint8(0))
	}
	f.Add("1*9*9*9*0*0*0*1", uint8(3))
	f.Add("4*+62 812 3456 7890*Bu Sri*9*1*-*abc*1", uint8(1))
	f.Add("\xff*1*\x00", uint8(2))
	f.Fuzz(func(t *testing.T, text string, mode uint8) {
		cats := DefaultCategories()
		if mode&2 != 0 {
			cats = manyCategories(25)
		}
		limit := LimitSMS
		if mode&1 != 0 {
			limit = LimitUSSD
		}
		env := dialogEnv(t, cats, mode&4 != 0, limit)
		checkOutput(t, env, ReplayUSSD(env, text), "replay")
		out := StartDialog(env)
		for _, in := range strings.Split(text, "*") {
			if out = StepDialog(env, out.State, in); out.End {
				break
			}
			checkOutput(t, env, out, "step")
		}
		checkOutput(t, env, out, "final")
	})
}

// TestDialog_FailText: a prompt that fails to render ends the dialog with
// the configured menu_fail, or the built-in text when that fails too.
func TestDialog_FailText(t *testing.T) {
	// Both pass the sample check (two categories) but fail on the status
	// prompt, which has none.
	broken := "{{index .Categories 1}}"
	for _, tt := range []struct{ name, fail, want string }{
		{"Configured", "Sistem gangguan.", "Sistem gangguan."},
		{"FailBroken", broken, "Maaf, layanan sedang gangguan. Coba lagi nanti."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			texts, err := NewTexts(map[string]string{"menu_status": broken, "menu_fail": tt.fail})
			if err != nil {
				t.Fatal(err)
			}
			env := DialogEnv{Categories: DefaultCategories(), Limit: LimitUSSD, Texts: texts}
			for _, out := range []DialogOutput{StepDialog(env, DialogState{Step: StepMain}, "2"), ReplayUSSD(env, "2")} {
				if !out.End || out.Text != tt.want {
					t.Errorf("got %+v, want END %q", out, tt.want)
				}
			}
		})
	}
}
