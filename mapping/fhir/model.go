package fhir

import "encoding/json"

// The structs below hold only the FHIR R4 elements this package reads.
// Unknown elements are ignored by encoding/json, so a profile that adds
// extensions (ISiK, US Core, …) still decodes.

type header struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Contained    []json.RawMessage `json:"contained"`
}

type bundle struct {
	Type  string            `json:"type"`
	Entry []json.RawMessage `json:"entry"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type identifier struct {
	Use    string           `json:"use"`
	System string           `json:"system"`
	Value  string           `json:"value"`
	Type   *codeableConcept `json:"type"`
}

type humanName struct {
	Use    string   `json:"use"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
	Period *period  `json:"period"`
}

type contactPoint struct {
	System string  `json:"system"`
	Value  string  `json:"value"`
	Use    string  `json:"use"`
	Rank   int     `json:"rank"`
	Period *period `json:"period"`
}

type patientResource struct {
	Identifier       []identifier   `json:"identifier"`
	Name             []humanName    `json:"name"`
	BirthDate        string         `json:"birthDate"`
	Gender           string         `json:"gender"`
	Telecom          []contactPoint `json:"telecom"`
	DeceasedBoolean  *bool          `json:"deceasedBoolean"`
	DeceasedDateTime string         `json:"deceasedDateTime"`
}

type reference struct {
	Reference string `json:"reference"`
	Display   string `json:"display"`
}

type participant struct {
	Actor *reference `json:"actor"`
}

type appointmentResource struct {
	Identifier      []identifier     `json:"identifier"`
	Status          string           `json:"status"`
	Start           string           `json:"start"`
	End             string           `json:"end"`
	MinutesDuration *int             `json:"minutesDuration"`
	AppointmentType *codeableConcept `json:"appointmentType"`
	Participant     []participant    `json:"participant"`
}

type practitionerResource struct {
	Name []humanName `json:"name"`
}

type practitionerRoleResource struct {
	Practitioner *reference `json:"practitioner"`
}

type locationResource struct {
	Name string `json:"name"`
}

type questionnaireResponse struct {
	Status   string     `json:"status"`
	Authored string     `json:"authored"`
	Subject  *reference `json:"subject"`
	Item     []qrItem   `json:"item"`
}

type qrItem struct {
	LinkID string     `json:"linkId"`
	Answer []qrAnswer `json:"answer"`
	Item   []qrItem   `json:"item"`
}

type qrAnswer struct {
	ValueBoolean *bool    `json:"valueBoolean"`
	ValueString  *string  `json:"valueString"`
	ValueCoding  *coding  `json:"valueCoding"`
	Item         []qrItem `json:"item"`
}
