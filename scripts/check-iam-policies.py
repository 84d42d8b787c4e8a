#!/usr/bin/env python3
"""Lints every IAM policy of a packaged CloudFormation template, offline.

Usage:
  check-iam-policies.py TEMPLATE [--allowances FILE]

What it reads: every policy document in the template (identity policies of
AWS::IAM::Role, ::Policy and ::ManagedPolicy, the roles' trust policies, and
the resource policies of queues, topics and buckets). CloudFormation's
intrinsic functions are resolved first, with placeholders for what only a
deploy knows (account 123456789012; each resource's ARN built from its name
property, or from its logical id when it has none), so that the linter sees
real ARNs, never `{"Fn::Sub": ...}`.

What fails (exit 1), each printed with the policy it is in:
  - every parliament finding (community auditors included: privilege
    escalation, credentials exposure, permissions management) that no entry
    of the allowances file accepts; an entry must say why;
  - an allowance that accepts nothing (the finding it was for is gone: drop
    it, so the file never hides a later one);
  - an Allow with a wildcard action (`*`, `service:*`, any `*` or `?` in an
    action) or with NotAction: a policy names each call it allows;
  - an Allow of iam:PassRole on `*` or on every role (`role/*`), or without
    an iam:PassedToService condition: passing any role is how a launch
    becomes an escalation to any role in the account.
Exit 2: the template cannot be read or resolved (the message says what).

Nothing is downloaded: parliament carries its own copy of the Service
Authorization Reference (iam_definition.json).
"""

import argparse
import json
import re
import sys
from pathlib import Path

import yaml
from parliament import analyze_policy_string, enhance_finding, override_config

ACCOUNT = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"

# Where each resource type keeps its name, how Ref and GetAtt read for it.
# {p} partition, {r} region, {a} account, {n} the resource's name.
NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SSM::Document": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
}
REFS = {
    "AWS::SQS::Queue": "https://sqs.{r}.amazonaws.com/{a}/{n}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
}
ARNS = {
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "AWS::Events::EventBus": "arn:{p}:events:{r}:{a}:event-bus/{n}",
    "AWS::Events::Rule": "arn:{p}:events:{r}:{a}:rule/{n}",
    "AWS::Events::Archive": "arn:{p}:events:{r}:{a}:archive/{n}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{n}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{n}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    # A key has no name: its logical id stands in for the key id.
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{n}",
}
# Resource types whose Properties.PolicyDocument is a resource policy. (A
# KMS key's KeyPolicy is not linted: the on-call topic's key has AWS's
# default account statement and one for CloudWatch alarms, reviewed in
# infra/serverless/notifications.yml.)
RESOURCE_POLICY_TYPES = {
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::Events::EventBusPolicy",
}

NO_VALUE = object()


class TemplateError(Exception):
    """The template has something this script cannot resolve."""


class Resolver:
    """Resolves CloudFormation intrinsic functions to plain values."""

    def __init__(self, template, region):
        self.resources = template.get("Resources", {})
        self.conditions = template.get("Conditions", {})
        self.pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "pullmedic-check",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.region = region

    def resolve(self, value):
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self.function(key, arg)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def function(self, name, arg):
        if name == "Fn::Sub":
            return self.sub(arg)
        if name == "Fn::GetAtt":
            logical, attribute = (
                arg.split(".", 1) if isinstance(arg, str) else arg
            )
            return self.get_att(logical, attribute)
        if name == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(str(i) for i in self.resolve(items))
        if name == "Fn::Split":
            delimiter, text = arg
            return self.resolve(text).split(delimiter)
        if name == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::If":
            condition, when_true, when_false = arg
            chosen = when_true if self.condition(condition) else when_false
            return self.resolve(chosen)
        if name == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return left == right
        if name == "Fn::Not":
            return not self.resolve(arg[0])
        if name == "Fn::And":
            return all(self.resolve(v) for v in arg)
        if name == "Fn::Or":
            return any(self.resolve(v) for v in arg)
        raise TemplateError(f"{name} is not resolved by this script")

    def condition(self, name):
        if name not in self.conditions:
            raise TemplateError(f"condition {name} is not in the template")
        return bool(self.resolve(self.conditions[name]))

    def name_of(self, logical):
        resource = self.resources[logical]
        prop = NAME_PROPERTIES.get(resource["Type"])
        name = resource.get("Properties", {}).get(prop) if prop else None
        return self.resolve(name) if name is not None else logical.lower()

    def fill(self, pattern, logical):
        return pattern.format(
            p=PARTITION, r=self.region, a=ACCOUNT, n=self.name_of(logical)
        )

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name not in self.resources:
            raise TemplateError(f"Ref {name}: no such resource or pseudo parameter")
        kind = self.resources[name]["Type"]
        if kind in REFS:
            return self.fill(REFS[kind], name)
        if kind in NAME_PROPERTIES:
            return self.name_of(name)
        raise TemplateError(f"Ref {name}: {kind} is not known to this script")

    def get_att(self, logical, attribute):
        if logical not in self.resources:
            raise TemplateError(f"GetAtt {logical}.{attribute}: no such resource")
        kind = self.resources[logical]["Type"]
        if attribute in ("Arn", "TopicArn") and kind in ARNS:
            return self.fill(ARNS[kind], logical)
        if attribute in ("QueueName", "Name", "TopicName"):
            return self.name_of(logical)
        raise TemplateError(
            f"GetAtt {logical}.{attribute}: {kind}.{attribute} is not known to this script"
        )

    def sub(self, arg):
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def policies_of(template, resolver):
    """Every policy document in the template: (where, kind, document)."""
    for logical, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            trust = props.get("AssumeRolePolicyDocument")
            if trust is not None:
                yield f"{logical}/trust", "trust", resolver.resolve(trust)
            for policy in props.get("Policies", []):
                name = resolver.resolve(policy.get("PolicyName"))
                yield (
                    f"{logical}/{name}",
                    "identity",
                    resolver.resolve(policy["PolicyDocument"]),
                )
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical, "identity", resolver.resolve(props["PolicyDocument"])
        elif kind in RESOURCE_POLICY_TYPES:
            yield logical, "resource", resolver.resolve(props["PolicyDocument"])


def as_list(value):
    return value if isinstance(value, list) else [value]


def own_checks(where, document):
    """The rules parliament does not have: wildcards and PassRole."""
    problems = []
    for index, statement in enumerate(as_list(document.get("Statement", []))):
        if statement.get("Effect") != "Allow":
            continue
        label = f"{where} statement {statement.get('Sid', index)}"
        if "NotAction" in statement:
            problems.append(f"{label}: NotAction in an Allow grants every other action")
        actions = [str(a) for a in as_list(statement.get("Action", []))]
        for action in actions:
            if "*" in action or "?" in action:
                problems.append(
                    f"{label}: wildcard action {action!r}: name each call the code makes"
                )
        if any(a.lower() == "iam:passrole" for a in actions):
            for resource in as_list(statement.get("Resource", [])):
                role_part = str(resource).split(":role/", 1)[-1]
                if resource == "*" or re.fullmatch(r"[*?/]*", role_part):
                    problems.append(
                        f"{label}: iam:PassRole on {resource!r} can pass any role in the account"
                    )
            conditions = json.dumps(statement.get("Condition", {}))
            if "iam:PassedToService" not in conditions:
                problems.append(
                    f"{label}: iam:PassRole without an iam:PassedToService condition"
                )
    return problems


def trust_checks(where, document):
    """A role is assumed by named principals only, never by anyone."""
    problems = []
    for index, statement in enumerate(as_list(document.get("Statement", []))):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        values = (
            [principal]
            if not isinstance(principal, dict)
            else [v for vs in principal.values() for v in as_list(vs)]
        )
        if principal is None or "*" in values:
            problems.append(
                f"{where} statement {statement.get('Sid', index)}: "
                "a role anyone may assume"
            )
    return problems


def load_allowances(path):
    entries = yaml.safe_load(Path(path).read_text()) or []
    for entry in entries:
        missing = [k for k in ("policy", "issue", "why") if not entry.get(k)]
        if missing:
            raise TemplateError(
                f"{path}: allowance {entry!r} lacks {', '.join(missing)}: every allowance says why"
            )
        entry["used"] = False
    return entries


def allowed(allowances, where, finding):
    """The allowance that accepts this finding, if any."""
    for entry in allowances:
        if entry["policy"] != where or entry["issue"] != finding.issue:
            continue
        # match: regular expressions, each on a key of the finding's
        # location (actions, type, ...) or, for "detail", on its detail.
        match = entry.get("match", {})
        fields = {**(finding.location or {}), "detail": finding.detail}
        if all(
            re.fullmatch(str(pattern), str(fields.get(key, "")), re.IGNORECASE | re.DOTALL)
            for key, pattern in match.items()
        ):
            entry["used"] = True
            return entry
    return None


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("template")
    parser.add_argument("--allowances", help="YAML list of accepted findings")
    args = parser.parse_args(argv)

    try:
        template = json.loads(Path(args.template).read_text())
        region = DEFAULT_REGION
        resolver = Resolver(template, region)
        policies = list(policies_of(template, resolver))
        allowances = load_allowances(args.allowances) if args.allowances else []
    except (OSError, ValueError, KeyError, TemplateError) as err:
        print(f"check-iam-policies: {err}", file=sys.stderr)
        return 2

    # The community auditors (privilege escalation, credentials exposure,
    # permissions management, sensitive access) with their own settings.
    import parliament

    community = Path(parliament.__file__).parent / "community_auditors"
    override_config(community / "config_override.yaml")

    failures = []
    accepted = 0
    for where, kind, document in policies:
        if kind == "trust":
            # parliament reads identity and resource policies; a trust
            # policy has a Principal and no Resource, which it calls
            # MALFORMED. Ours get the checks below instead.
            failures.extend(own_checks(where, document))
            failures.extend(trust_checks(where, document))
            continue
        policy = analyze_policy_string(
            json.dumps(document),
            filepath=where,
            include_community_auditors=True,
        )
        for finding in policy.findings:
            enhance_finding(finding)
            entry = allowed(allowances, where, finding)
            if entry is not None:
                accepted += 1
                print(f"  allowed  {where}: {finding.issue} ({args.allowances})")
                continue
            failures.append(
                f"{where}: {finding.issue} [{finding.severity}] {finding.title}: "
                f"{finding.detail} {json.dumps(finding.location, default=str)}"
            )
        failures.extend(own_checks(where, document))
    for entry in allowances:
        if not entry["used"]:
            failures.append(
                f"{args.allowances}: allowance for {entry['policy']} {entry['issue']} "
                "matched no finding: remove it"
            )

    counts = {}
    for _, kind, _ in policies:
        counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    print(f"check-iam-policies: {len(policies)} policies ({summary}), "
          f"{accepted} findings allowed, {len(failures)} problems")
    for failure in failures:
        print(f"  FAIL  {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
