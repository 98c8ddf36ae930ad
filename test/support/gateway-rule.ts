/**
 * The example config's gateway ALB rule (debate-prod, us-east-1): its listener,
 * rule and the two target groups it weighs, general and spot.
 */
export const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/debate-prod/50dc6c495c0c9188/f2f7dc8efc522ab2';
export const RULE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/debate-prod/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
export const GENERAL = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gateway-general/73e2d6bc24d8a067';
export const SPOT = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gateway-spot/2453ed029918f21f';
