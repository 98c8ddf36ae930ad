/**
 * `serverless package` offline (fake credentials, no deploy) and a read of the
 * CloudFormation template it writes: one role per function, least privilege,
 * and every event wired.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableDefinition, TTL_ATTRIBUTE } from '../../lib/state/dynamodb.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lib/handlers/middleware.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const FUNCTIONS = ['scheduled', 'worker', 'alarm', 'emergency', 'reweight', 'manifests', 'slackApproval'] as const;
/** Functions that change capacity or traffic: reserved concurrency caps how many run at once. */
const CHANGES_CAPACITY = ['worker', 'alarm', 'emergency', 'reweight', 'manifests'];

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}
interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Actions AWS authorises on "*" only (no resource-level permissions): a "*" resource is right for these. */
const STAR_ONLY = new Set([
  'cloudwatch:GetMetricData',
  'cloudwatch:PutMetricData',
  'autoscaling:DescribeAutoScalingGroups',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:DescribeTags',
]);

let resources: Record<string, Resource>;
let outDir: string;
const logicalId = (fn: string) => `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'prescale-package-'));
  await promisify(execFile)('npx', ['serverless', 'package', '--stage', 'ci', '--region', 'us-east-1', '--package', outDir], {
    cwd: ROOT,
    timeout: 240_000,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_REGION: 'us-east-1',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_DEPRECATION_DISABLE: '*',
    },
  });
  // osls writes -update-stack.json (singular).
  resources = (JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}, 300_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function roleOf(fn: string): Resource {
  const role = (resources[logicalId(fn)]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return resources[role]!;
}

function statements(role: Resource): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const isStar = (resource: unknown): boolean => resource === '*' || (Array.isArray(resource) && resource.includes('*'));

describe('serverless package', () => {
  it('packages every function for nodejs22.x on arm64', () => {
    for (const fn of FUNCTIONS) {
      const props = resources[logicalId(fn)]?.Properties;
      expect(props, fn).toBeDefined();
      expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: `functions/${fn}.handler` });
    }
  });

  it('gives each function its own role and no managed default role', () => {
    const roles = FUNCTIONS.map((fn) => (resources[logicalId(fn)]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('never allows "Action": "*" and never a mutating action on "*" where AWS scopes by ARN', () => {
    const allRoles = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Role');
    for (const role of allRoles) {
      for (const statement of statements(role)) {
        expect(actions(statement)).not.toContain('*');
        for (const action of actions(statement)) {
          expect(action.endsWith(':*'), action).toBe(false);
          if (isStar(statement.Resource)) expect(STAR_ONLY.has(action), `${action} on "*"`).toBe(true);
        }
      }
    }
  });

  it('scopes the mutating calls: node groups, tagged ASGs, listener rules, the table, the queue', () => {
    const worker = statements(roleOf('worker'));
    const find = (list: Statement[], action: string) => list.find((s) => actions(s).includes(action));
    expect(JSON.stringify(find(worker, 'eks:UpdateNodegroupConfig')!.Resource)).toContain(':nodegroup/');
    const asg = find(worker, 'autoscaling:SetDesiredCapacity')!;
    expect(JSON.stringify(asg.Resource)).toContain(':autoScalingGroup:');
    expect(JSON.stringify(asg.Condition)).toContain('autoscaling:ResourceTag/prescale.io/managed');
    expect(find(worker, 'dynamodb:PutItem')!.Resource).toEqual({ 'Fn::GetAtt': ['StateTable', 'Arn'] });
    expect(find(worker, 'sqs:DeleteMessage')!.Resource).toEqual({ 'Fn::GetAtt': ['ClusterQueue', 'Arn'] });
    expect(JSON.stringify(find(statements(roleOf('reweight')), 'elasticloadbalancing:ModifyRule')!.Resource)).toContain(':listener-rule/app/');
    expect(find(statements(roleOf('scheduled')), 'sqs:SendMessage')!.Resource).toEqual({ 'Fn::GetAtt': ['ClusterQueue', 'Arn'] });
  });

  it('lists only the calls each function makes', () => {
    const callsOf = (fn: string) => new Set(statements(roleOf(fn)).flatMap(actions));
    expect([...callsOf('scheduled')].some((a) => a.startsWith('eks:') || a.startsWith('autoscaling:') || a.startsWith('elasticloadbalancing:'))).toBe(false);
    expect([...callsOf('emergency')].some((a) => a.startsWith('sqs:') || a.startsWith('elasticloadbalancing:'))).toBe(false);
    // reweight reads node groups (ready capacity behind each target group) but never resizes them.
    expect([...callsOf('reweight')].filter((a) => a.startsWith('eks:') || a.startsWith('autoscaling:')).sort()).toEqual(['autoscaling:DescribeAutoScalingGroups', 'eks:DescribeNodegroup']);
    // The internet-facing webhook reads its secret and queues the click; the worker decides and acts.
    expect([...callsOf('slackApproval')].sort()).toEqual(['kms:Decrypt', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage', 'ssm:GetParameter']);
    const slack = statements(roleOf('slackApproval'));
    expect(JSON.stringify(slack.find((s) => actions(s).includes('ssm:GetParameter'))!.Resource)).toContain(':parameter/prescale/ci/slack/signing-secret');
    expect(JSON.stringify(slack.find((s) => actions(s).includes('kms:Decrypt'))!.Condition)).toContain('kms:ViaService');
    expect(slack.find((s) => actions(s).includes('sqs:SendMessage'))!.Resource).toEqual({ 'Fn::GetAtt': ['ClusterQueue', 'Arn'] });
    for (const fn of ['worker', 'alarm', 'emergency']) {
      expect(JSON.stringify(statements(roleOf(fn)).find((s) => actions(s).includes('ssm:GetParameter'))!.Resource), fn).toContain(':parameter/prescale/ci/slack/bot-token');
    }
    // Which functions may read the signing secret: the webhook, and the worker that verifies queued clicks again.
    const readsSigningSecret = (fn: string) => statements(roleOf(fn)).some((s) => actions(s).includes('ssm:GetParameter') && JSON.stringify(s.Resource).includes(':parameter/prescale/ci/slack/signing-secret'));
    expect(['alarm', 'emergency', 'manifests', 'reweight', 'scheduled', 'slackApproval', 'worker'].filter(readsSigningSecret)).toEqual(['slackApproval', 'worker']);
  });

  it('reserves concurrency for the functions that change capacity', () => {
    for (const fn of CHANGES_CAPACITY) expect(resources[logicalId(fn)]!.Properties.ReservedConcurrentExecutions, fn).toBeGreaterThan(0);
  });

  it('wires the events', () => {
    const schedules = Object.values(resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule');
    const targets = schedules.map((s) => (s.Properties.Target as { Arn: { 'Fn::GetAtt': [string, string] } }).Arn['Fn::GetAtt'][0]).sort();
    expect(targets).toEqual(['ManifestsLambdaFunction', 'ReweightLambdaFunction', 'ScheduledLambdaFunction']);
    for (const schedule of schedules) expect(JSON.stringify((schedule.Properties.Target as { Input: unknown }).Input)).toContain('<aws.scheduler.schedule-arn>');

    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const alarmRule = rules.find((r) => JSON.stringify(r.Properties.Targets).includes('AlarmLambdaFunction'))!;
    expect(alarmRule.Properties.EventPattern).toMatchObject({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] });

    const mapping = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping')!;
    expect(mapping.Properties).toMatchObject({ EventSourceArn: { 'Fn::GetAtt': ['ClusterQueue', 'Arn'] }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    expect(JSON.stringify(mapping.Properties.FunctionName)).toContain('WorkerLambdaFunction');

    const route = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Route')!;
    expect(route.Properties.RouteKey).toBe('POST /slack/interactions');
  });

  it('declares the state table as lib/state defines it, with TTL and point-in-time recovery', () => {
    const table = resources.StateTable!.Properties;
    const expected = tableDefinition('x');
    expect(table.KeySchema).toEqual(expected.KeySchema);
    expect(table.AttributeDefinitions).toEqual(expected.AttributeDefinitions);
    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('has a DLQ with redrive and alarms on every function and on DLQ depth', () => {
    expect(resources.ClusterQueue!.Properties.RedrivePolicy).toMatchObject({ deadLetterTargetArn: { 'Fn::GetAtt': ['ClusterDeadLetterQueue', 'Arn'] } });
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    for (const fn of FUNCTIONS) {
      expect(alarms.some((a) => a.Properties.MetricName === 'Errors' && JSON.stringify(a.Properties.Dimensions).includes(logicalId(fn))), fn).toBe(true);
    }
    expect(alarms.some((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties.Dimensions).includes('ClusterDeadLetterQueue'))).toBe(true);
  });

  it('pages when a demand metric stays unknown: on the EMF metric the worker emits, with its dimensions', () => {
    const alarm = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'ServicesDemandUnknown');
    expect(alarm?.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }, { Name: 'function', Value: 'worker' }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'OpsAlertTopic' }],
    });
  });
});
