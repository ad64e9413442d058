"""DomainCertificates: one ACM certificate per Region, validated through one record."""

from __future__ import annotations

from infra.mockrun import ProgramRun
from tests.infra.plan import REGIONS


def test_one_validation_record_serves_both_regions_certificates(default_run: ProgramRun) -> None:
    # ACM asks both certificates for the same CNAME. Two resources owning it (allowOverwrite)
    # meant replacing one Region deleted the record the other still renews with.
    (record,) = [r for r in default_run.of_type("aws:route53/record:Record")
                 if r.inputs["type"] == "CNAME"]  # fmt: skip
    options = [
        default_run.named(f"{role}-certificate").outputs["domainValidationOptions"][0]
        for role in REGIONS
    ]
    assert options[0] == options[1]
    assert record.inputs["zoneId"] == "Z0123456789ABC"
    assert record.inputs["name"] == options[0]["resourceRecordName"]
    assert record.inputs["records"] == [options[0]["resourceRecordValue"]]
    assert "allowOverwrite" not in record.inputs
    for role in REGIONS:
        validation = default_run.named(f"{role}-certificate-validation")
        assert validation.inputs["validationRecordFqdns"] == [record.outputs["fqdn"]]
    (component,) = [r for r in default_run.resources if r.type.endswith(":DomainCertificates")]
    assert record.parent == component.urn
