"""API Gateway usage plans, API keys and stages, spoken in Tollgate's terms.

This package is the only code that talks to API Gateway (through `portal.aws.clients`, which
adds the shared rate budget). Callers hand it specs and get specs back; boto3's dictionaries,
patch operations and pages stay inside, so AWS's quirks are handled in one place and the layers
above reason about tiers and keys, not requests. Callers import the package (`from portal.aws
import apigateway as aws`) and use the names below, never a module inside it.

Every object we create carries the tag `tollgate:id`, so a create that crashed before we saved the
AWS id is found and adopted on the next attempt instead of being created twice. Updates send only
the patch operations that differ from what AWS has now.

- `specs`: the values crossing the boundary (StageRef, UsagePlanSpec, Throttle, Quota,
  MethodLimit, ApiKeySpec, AwsApiKey, CreatedApiKey, DiscoveredStage, CustomDomainAddress,
  CustomDomains) and the owner tag.
- `paging`: GetXxx listings walked to the end, 500 a page.
- `stages`: every stage of every REST API (`list_stages`).
- `domains`: the custom domain each stage is published at, if any (`custom_domains`).
- `usage_plans`: read, create, adopt, patch (only what differs) and delete usage plans.
- `differences`: where AWS and Tollgate disagree, worded for the drift page.
- `api_keys`: create, find, update and delete keys; secrets and their fingerprints; which usage
  plan a key belongs to.
- `key_values`: the format of the values Tollgate generates (prefix, random part, checksum).
"""

from portal.aws.apigateway.api_keys import (
    api_key_fingerprint_listing,
    api_key_fingerprints,
    api_key_patch,
    api_key_record,
    create_api_key,
    delete_api_key,
    ensure_key_in_plan,
    find_api_key,
    fingerprint_of,
    get_api_key,
    get_api_key_secret,
    import_api_keys,
    keys_of_usage_plan,
    list_api_keys,
    secret_fingerprint,
    update_api_key,
    usage_plans_of_key,
)
from portal.aws.apigateway.differences import (
    Difference,
    api_key_differences,
    usage_plan_differences,
)
from portal.aws.apigateway.domains import custom_domains
from portal.aws.apigateway.key_values import (
    has_tollgate_shape,
    looks_like_tollgate_key,
    new_key_value,
)
from portal.aws.apigateway.paging import PAGE_SIZE
from portal.aws.apigateway.specs import (
    OWNER_TAG,
    ApiKeySpec,
    AwsApiKey,
    CreatedApiKey,
    CustomDomainAddress,
    CustomDomains,
    DiscoveredStage,
    MethodLimit,
    Quota,
    StageRef,
    Throttle,
    UsagePlanSpec,
)
from portal.aws.apigateway.stages import list_stages
from portal.aws.apigateway.usage_plans import (
    create_usage_plan,
    delete_usage_plan,
    ensure_usage_plan,
    find_usage_plan,
    get_usage_plan,
    list_usage_plans,
    update_usage_plan,
    usage_plan_patch,
    usage_plan_record,
    usage_plan_state,
)

__all__ = [
    "OWNER_TAG",
    "PAGE_SIZE",
    "ApiKeySpec",
    "AwsApiKey",
    "CreatedApiKey",
    "CustomDomainAddress",
    "CustomDomains",
    "Difference",
    "DiscoveredStage",
    "MethodLimit",
    "Quota",
    "StageRef",
    "Throttle",
    "UsagePlanSpec",
    "api_key_differences",
    "api_key_fingerprint_listing",
    "api_key_fingerprints",
    "api_key_patch",
    "api_key_record",
    "create_api_key",
    "create_usage_plan",
    "custom_domains",
    "delete_api_key",
    "delete_usage_plan",
    "ensure_key_in_plan",
    "ensure_usage_plan",
    "find_api_key",
    "find_usage_plan",
    "fingerprint_of",
    "has_tollgate_shape",
    "get_api_key",
    "get_api_key_secret",
    "get_usage_plan",
    "import_api_keys",
    "keys_of_usage_plan",
    "list_api_keys",
    "list_stages",
    "list_usage_plans",
    "looks_like_tollgate_key",
    "new_key_value",
    "secret_fingerprint",
    "update_api_key",
    "update_usage_plan",
    "usage_plan_differences",
    "usage_plan_patch",
    "usage_plan_record",
    "usage_plan_state",
    "usage_plans_of_key",
]
