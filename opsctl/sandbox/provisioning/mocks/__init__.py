"""The Pulumi mocks that provision the sandbox: `sandbox.SandboxMocks` answers the program as
Pulumi's engine would and creates in the emulator what runs, one module per kind of resource
(`monitoring`: Route 53, CloudWatch, SNS; `compute`: DynamoDB, SSM, IAM, Lambda; `apigateway`);
`target` is where they create it."""
