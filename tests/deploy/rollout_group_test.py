"""A group deploy whose members roll out: each member's rollout runs inside the group deploy, and a later member's
failure mid-rollout sets the earlier members' weight to 0 before rolling them back (real platform, real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fleet import Fleet, ServiceState, build_fleet
from testing.gitrepo import GitRepo

ANALYSIS = """
[[services.web.rollout.analysis]]
name = "error rate"
command = "{command}"
success = "< 0.01"
min_samples = 5
"""


@pytest.fixture
def fleet(git_repo: GitRepo, tmp_path: Path) -> Iterator[Fleet]:
    for fleet in build_fleet(git_repo, tmp_path):
        fleet.shas["pair1"] = git_repo.commit("api and web: two", {"api/app.py": "1\n", "web/app.py": "3\n"})
        fleet.state.services["api"] = ServiceState(stable=fleet.shas["base"])
        analysis = ANALYSIS.format(command=fleet.metrics_command())
        fleet.configure_group({"api": analysis, "web": analysis})
        yield fleet


def test_a_group_rolls_out_each_member_in_deploy_order(fleet: Fleet) -> None:
    code, document, err = fleet.json("deploy", "--group", "pair", "--yes")
    assert code == 0, err
    assert [(d["service"], d["status"]) for d in document["deploys"]] == [("api", "succeeded"), ("web", "succeeded")]
    for name in ("api", "web"):
        assert fleet.service(name).weights == [10, 25, 50, 100]
        assert fleet.service(name).canary == fleet.shas["pair1"]
        assert fleet.status(name)["rollout"]["state"] == "succeeded"


def test_a_later_member_failing_mid_rollout_sets_the_earlier_weight_0_then_rolls_it_back(fleet: Fleet) -> None:
    fleet.state.bad_service_from["web"] = 25
    code, document, err = fleet.json("deploy", "--group", "pair", "--yes")
    assert code == 2, err
    api, web = document["deploys"]
    assert (web["status"], web["step"]) == ("rolled_back", "rollout") and "step 2/4 (25%)" in web["reason"]
    assert fleet.service("web").weights == [10, 25, 0] and fleet.service("web").canary is None
    assert (api["status"], api["step"]) == ("rolled_back", "group")
    assert "group pair: web failed at rollout; rolled back" in api["reason"]
    # api had all traffic: weight 0 first, then the rollback to the commit it ran before
    assert fleet.service("api").weights == [10, 25, 50, 100, 0] and fleet.service("api").canary is None
    assert [s["name"] for s in api["rollback"]["steps"]][:2] == ["traffic", "rollback"]
    assert [(e["how"], e["status"]) for e in fleet.ledger("api")] == [("rollback", "succeeded"),
                                                                      ("deploy", "succeeded")]
    status = fleet.status("api")
    assert status["rollout"]["weight"] == 0 and status["lock"] is None
    rolled_back = [e for e in status["rollout"]["events"] if e["event"] == "rolled back"]
    assert len(rolled_back) == 1 and rolled_back[0]["weight"] == 0 and rolled_back[0]["rollback"] == "succeeded"
    assert fleet.status("web")["lock"] is None


def test_an_inconclusive_member_fails_instead_of_pausing_so_the_group_is_not_left_split(fleet: Fleet) -> None:
    fleet.state.no_data_services.add("web")
    code, document, err = fleet.json("deploy", "--group", "pair", "--yes")
    assert code == 2, err
    api, web = document["deploys"]
    assert web["status"] == "rolled_back" and "a group member cannot pause" in web["reason"]
    assert "no data" in web["reason"]
    assert fleet.service("web").weights == [10, 0] and fleet.service("api").weights == [10, 25, 50, 100, 0]
    assert api["status"] == "rolled_back"
    for name in ("api", "web"):
        assert fleet.service(name).canary is None and fleet.status(name)["lock"] is None
    assert fleet.status("web")["rollout"]["state"] == "rolled_back"
