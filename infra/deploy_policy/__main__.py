"""`python -m infra.deploy_policy Pulumi.<stack>.yaml` prints the stack's deploy policy."""

import sys

from infra.deploy_policy.policy import main

sys.exit(main())
