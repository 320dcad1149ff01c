"""The policy builder refuses, at synth, every statement that grants more than it names."""

from __future__ import annotations

import pytest

from stacks.shared.iam import PolicyError, Statement, folded_statements, policy_json

REFUSED = [
    (["*"], ["arn:aws:s3:::b"], "grants every action"),
    (["s3:*"], ["arn:aws:s3:::b"], "grants a whole service"),
    (["s3:Get*"], ["arn:aws:s3:::b"], "wildcard action"),
    (["s3:GetObject"], ["*"], "can be scoped"),
    (["ecr:GetAuthorizationToken", "ecr:BatchGetImage"], ["*"], "ecr:BatchGetImage"),
    (["s3:GetObject"], ["arn:*"], "matches everything"),
    (["s3:GetObject"], [], "names no resource"),
    ([], ["arn:aws:s3:::b"], "names no action"),
    (["GetObject"], ["arn:aws:s3:::b"], "service:Action"),
]


@pytest.mark.parametrize(("actions", "resources", "message"), REFUSED)
def test_a_statement_that_grants_more_than_it_names_is_refused(
    actions: list[str], resources: list[str], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        policy_json([Statement(sid="Planted", actions=actions, resources=resources)])


def test_star_only_actions_may_use_star() -> None:
    doc = policy_json(
        [Statement(sid="Login", actions=["ecr:GetAuthorizationToken"], resources=["*"])]
    )
    assert '"Resource": "*"' in doc


def test_sids_are_unique_and_alphanumeric() -> None:
    one = Statement(sid="Same", actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*"])
    with pytest.raises(PolicyError, match="used twice"):
        policy_json([one, one])
    with pytest.raises(PolicyError, match="alphanumeric"):
        policy_json(
            [Statement(sid="no-dash", actions=["s3:GetObject"], resources=["arn:aws:s3:::b"])]
        )


def test_folding_joins_only_statements_with_the_same_scope() -> None:
    a = Statement(sid="A", actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*"])
    b = Statement(sid="B", actions=["s3:PutObject"], resources=["arn:aws:s3:::b/*"])
    c = Statement(sid="C", actions=["s3:ListBucket"], resources=["arn:aws:s3:::b"])
    folded = folded_statements([a, b, c])
    assert [s.sid for s in folded] == ["A", "C"]
    assert list(folded[0].actions) == ["s3:GetObject", "s3:PutObject"]
