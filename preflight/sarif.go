package preflight

import (
	"encoding/json"
	"io"
)

// The SARIF 2.1.0 subset `-o sarif` writes: one run, one rule, one result per denied image.
type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

const sarifRuleID = "portcullis/untrusted-image"

func writeSARIF(w io.Writer, r *Report, version string) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "portcullis", InformationURI: "https://portcullis.dev", Version: version,
			Rules: []sarifRule{{ID: sarifRuleID, Name: "UntrustedImage",
				ShortDescription: sarifMessage{Text: "An image the cluster's image policies would deny"}}},
		}},
		Results: []sarifResult{},
	}
	for _, im := range r.Images {
		if im.Allowed {
			continue
		}
		res := sarifResult{RuleID: sarifRuleID, Level: "error", Message: sarifMessage{Text: im.message}}
		if im.File != "" && im.File != "-" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: im.File}}}
			if im.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: im.Line}
			}
			res.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Version: "2.1.0", Schema: "https://json.schemastore.org/sarif-2.1.0.json", Runs: []sarifRun{run}})
}
