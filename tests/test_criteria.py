"""Which criteria apply: RECIST 1.1 always, mRECIST for HCC, iRECIST with a checkpoint
inhibitor, or what the case states."""

from types import SimpleNamespace

import pandas as pd
import pytest

from casekit.rules.criteria import applicable_criteria, checkpoint_inhibitors, is_hepatocellular


def _case(facts: dict, labels=()):
    timeline = pd.DataFrame({"label": list(labels)})
    return SimpleNamespace(fact=lambda key, default=None: facts.get(key, default),
                           timeline=timeline)


@pytest.mark.parametrize("cancer, expected", [
    ("hepatocellular carcinoma", True), ("infiltrative HCC", True),
    ("non-small-cell lung cancer", False), ("cholangiocarcinoma", False), (None, False),
    ("HCCR-positive tumour", False),  # a word containing HCC is not HCC
])
def test_hepatocellular_is_read_from_the_cancer_fact(cancer, expected):
    assert is_hepatocellular(cancer) is expected


def test_checkpoint_inhibitors_are_found_in_labels_once_each():
    labels = ["Cycle 1 Atezolizumab/bevacizumab", "Cycle 2 atezolizumab/bevacizumab",
              "nivolumab + ipilimumab", "CT scan"]
    assert checkpoint_inhibitors(pd.DataFrame({"label": labels})) == [
        "atezolizumab", "nivolumab", "ipilimumab"]


def test_defaults_follow_the_cancer_and_the_treatment():
    assert applicable_criteria(_case({"cancer": "melanoma"})) == ["RECIST1.1"]
    assert applicable_criteria(_case({"cancer": "melanoma"}, ["pembrolizumab C1"])) == [
        "RECIST1.1", "iRECIST"]
    assert applicable_criteria(_case({"cancer": "hepatocellular carcinoma"},
                                     ["atezolizumab/bevacizumab"])) == [
        "RECIST1.1", "mRECIST", "iRECIST"]
    assert applicable_criteria(_case({})) == ["RECIST1.1"]


def test_the_case_can_state_its_criteria():
    case = _case({"cancer": "hepatocellular carcinoma", "criteria": "iRECIST; RECIST1.1"})
    assert applicable_criteria(case) == ["RECIST1.1", "iRECIST"]
    with pytest.raises(ValueError, match="unknown criteria"):
        applicable_criteria(_case({"criteria": "RECIST1.0"}))
