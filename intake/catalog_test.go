package intake

import (
	"strings"
	"testing"
)

func TestCatalog_Lookup(t *testing.T) {
	c := NewCatalog(DefaultCategories())
	tests := []struct{ word, want string }{
		{"JALAN", "JALAN"},
		{"jalan", "JALAN"},
		{"Jalan,", "JALAN"},
		{"jalan.", "JALAN"},
		{"#aspal:", "JALAN"},
		{"jln", "JALAN"},
		{"lampu", "PJU"},
		{"Lampu Jalan", "PJU"},
		{"pju!", "PJU"},
		{"gorong", "BANJIR"},
		{"Drainase", "BANJIR"},
		{"ktp", "ADMINDUK"},
		{"pkl", "TIBUM"},
		{"lainnya", "LAINNYA"},
		{"jalanan", ""},
		{"berlubang", ""}, // a word, not a name
		{"", ""},
		{"...", ""},
	}
	for _, tt := range tests {
		got, ok := c.Lookup(tt.word)
		if got.Code != tt.want || ok != (tt.want != "") {
			t.Errorf("Lookup(%q) = %q, %v, want %q", tt.word, got.Code, ok, tt.want)
		}
	}
}

func TestCatalog_Infer(t *testing.T) {
	c := NewCatalog(DefaultCategories())
	tests := []struct{ text, want string }{
		{"jalan berlubang dalam sekali", "JALAN"},
		{"aspalnya mengelupas", "JALAN"},
		{"dalane bolong gede", "JALAN"},
		{"ada pohon tumbang menutup jalan", "POHON"},
		{"dahan besar mau patah", "POHON"},
		{"sampah numpuk sudah seminggu, bau", "SAMPAH"},
		{"uwuh numpuk nang pinggir kali", "SAMPAH"},
		{"lampu jalan mati sejak senin", "PJU"},
		{"dalane peteng ndedet", "PJU"},
		{"lampu rusak", "PJU"},
		{"banjir di jalan soekarno hatta", "BANJIR"},
		{"rumah kebanjiran tiap hujan", "BANJIR"},
		{"selokan mampet, air meluap ke jalan", "BANJIR"},
		{"gorong-gorong buntu", "BANJIR"},
		{"macet parah karena parkir liar", "LALIN"},
		{"lampu merah mati di perempatan", "LALIN"},
		{"jukir minta uang parkir lebih", "LALIN"},
		{"e-ktp saya belum jadi", "ADMINDUK"},
		{"mengurus kartu keluarga lama sekali", "ADMINDUK"},
		{"pkl berjualan di trotoar", "TIBUM"},
		{"anak muda mabuk miras tiap malam, berisik", "TIBUM"},
		{"rusak", "JALAN"},
		{"gotong royong warga", ""}, // "got" only as a whole word
		{"air PDAM tidak mengalir", ""},
		{"selamat pagi", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := c.Infer(tt.text)
		if got.Code != tt.want || ok != (tt.want != "") {
			t.Errorf("Infer(%q) = %q, %v, want %q", tt.text, got.Code, ok, tt.want)
		}
	}
}

func TestCatalog_InferTie(t *testing.T) {
	c := NewCatalog([]Category{
		{Code: "A", Words: []string{"rusak"}},
		{Code: "B", Words: []string{"rusak"}},
	})
	if got, _ := c.Infer("rusak"); got.Code != "A" {
		t.Errorf("tie: got %q, want the first in config order", got.Code)
	}
	c = NewCatalog([]Category{
		{Code: "A", Words: []string{"rusak"}},
		{Code: "B", Words: []string{"rusak", "parah"}},
	})
	if got, _ := c.Infer("rusak parah"); got.Code != "B" {
		t.Errorf("got %q, want the higher score B", got.Code)
	}
}

func TestCatalog_GetAll(t *testing.T) {
	c := NewCatalog(DefaultCategories())
	if got, ok := c.Get("pju"); !ok || got.Code != "PJU" {
		t.Errorf("Get(pju) = %q, %v", got.Code, ok)
	}
	if _, ok := c.Get("LAMPU"); ok {
		t.Error("Get found a category by alias; it takes codes only")
	}
	all := c.All()
	all[0].Code = "CHANGED"
	if c.All()[0].Code != "JALAN" {
		t.Error("All returned the catalog's own slice")
	}
	var nilCat *Catalog
	if _, ok := nilCat.Lookup("jalan"); ok {
		t.Error("nil catalog found a category")
	}
	if _, ok := nilCat.Infer("jalan rusak"); ok {
		t.Error("nil catalog inferred a category")
	}
	if nilCat.All() != nil {
		t.Error("nil catalog has categories")
	}
}

func TestDefaultCategories(t *testing.T) {
	opds := map[string]bool{}
	for _, o := range DefaultOPDs() {
		if o.Code == "" || o.Name == "" || len(o.Humas) != 0 {
			t.Errorf("OPD %+v: want code, name and no humas", o)
		}
		opds[o.Code] = true
	}
	for _, code := range []string{"DPUPRPKP", "DLH", "DISHUB", "DISPENDUKCAPIL", "SATPOLPP", "TRIASE"} {
		if !opds[code] {
			t.Errorf("DefaultOPDs lacks %s", code)
		}
	}
	seen := map[string]bool{}
	for _, c := range DefaultCategories() {
		if seen[c.Code] {
			t.Errorf("category %s twice", c.Code)
		}
		seen[c.Code] = true
		if c.Name == "" || c.ServiceCode == "" || !opds[c.OPD] {
			t.Errorf("category %s: name %q service %q opd %q", c.Code, c.Name, c.ServiceCode, c.OPD)
		}
		if c.Code != "LAINNYA" && len(c.Words) < 5 {
			t.Errorf("category %s has only %d words", c.Code, len(c.Words))
		}
		if c.Code != strings.ToUpper(c.Code) {
			t.Errorf("category code %q is not upper case", c.Code)
		}
	}
	for _, code := range []string{"JALAN", "POHON", "SAMPAH", "PJU", "BANJIR", "LALIN", "ADMINDUK", "TIBUM", "LAINNYA"} {
		if !seen[code] {
			t.Errorf("DefaultCategories lacks %s", code)
		}
	}
	if c, _ := NewCatalog(DefaultCategories()).Get("LAINNYA"); c.OPD != "TRIASE" {
		t.Errorf("LAINNYA goes to %q, want TRIASE", c.OPD)
	}
}
