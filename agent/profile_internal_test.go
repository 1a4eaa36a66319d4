package agent

import (
	"reflect"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestProfileOfCopiesEveryField: a proto profile with every field set
// converts to a driver profile with every field set to the same value, so
// a field added to both is not forgotten here.
func TestProfileOfCopiesEveryField(t *testing.T) {
	in := &pb.ServiceProfile{Name: "fiber-100.v3", DownloadRate: 1, UploadRate: 2, DownloadBurstRate: 3, UploadBurstRate: 4,
		DownloadBurstThreshold: 5, UploadBurstThreshold: 6, BurstTimeSeconds: 7, Priority: 8, CiscoService: "cs",
		CiscoPolicyIn: "ci", CiscoPolicyOut: "co", JuniperService: "js", FilterId: "fi"}
	got := profileOf(in)
	want := enforcement.Profile{Name: "fiber-100.v3", DownloadRate: 1, UploadRate: 2, DownloadBurstRate: 3, UploadBurstRate: 4,
		DownloadBurstThreshold: 5, UploadBurstThreshold: 6, BurstTime: 7, Priority: 8, CiscoService: "cs",
		CiscoPolicyIn: "ci", CiscoPolicyOut: "co", JuniperService: "js", FilterID: "fi"}
	if *got != want {
		t.Fatalf("profileOf\n got %+v\nwant %+v", *got, want)
	}
	v := reflect.ValueOf(*got)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("enforcement.Profile.%s is not set by profileOf", v.Type().Field(i).Name)
		}
	}
	if profileOf(nil) != nil {
		t.Fatal("profileOf(nil) is not nil")
	}
	// targetOf carries it.
	if tg := targetOf(&pb.Service{ServiceId: "1", Profile: in}); *tg.Profile != want {
		t.Fatalf("targetOf's profile %+v", tg.Profile)
	}
}

func TestObservedProfileName(t *testing.T) {
	want := &pb.ServiceProfile{Name: "fiber 300 v2", DownloadRate: 300, UploadRate: 50}
	for _, tc := range []struct {
		got  *enforcement.Profile
		want string
	}{
		{nil, ""},
		{&enforcement.Profile{Name: "fiber_300_v2", DownloadRate: 300, UploadRate: 50}, "fiber 300 v2"}, // the device shortened the name
		{&enforcement.Profile{DownloadRate: 300, UploadRate: 50}, "fiber 300 v2"},                       // the device records none
		{&enforcement.Profile{Name: "fiber-100", DownloadRate: 100, UploadRate: 50}, "fiber-100"},       // another speed: as recorded
	} {
		if got := observedProfileName(tc.got, want); got != tc.want {
			t.Errorf("observedProfileName(%+v) = %q, want %q", tc.got, got, tc.want)
		}
	}
}
