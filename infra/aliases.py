"""Where moved resources lived before, so `pulumi up` on an existing stack keeps them.

A resource's URN carries its parent's type: moving it to another component changes the URN, and
without an alias to the old one Pulumi would delete the resource and create a new one.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.settings.model import PROJECT, Role

# Until the Regional stack was split into functions and API, every Regional resource (and the
# ACM certificates before `DomainCertificates`) lived under one component per Region, named
# after its role.
FORMER_REGIONAL_STACK_TYPE = f"{PROJECT}:infra:RegionalStack"


def former_regional_stack(role: Role, name: str | None = None) -> pulumi.Alias:
    """The alias of a resource that lived under `role`'s RegionalStack (under `name`, if it
    was called otherwise there)."""
    parent = pulumi.create_urn(role, FORMER_REGIONAL_STACK_TYPE)
    return pulumi.Alias(parent=parent) if name is None else pulumi.Alias(name=name, parent=parent)


def regional_child(parent: pulumi.Resource, role: Role, **options: Any) -> pulumi.ResourceOptions:
    """Options of a Regional component's resource: its parent (whose provider it inherits) and
    its former URN under `role`'s RegionalStack."""
    return pulumi.ResourceOptions(parent=parent, aliases=[former_regional_stack(role)], **options)
