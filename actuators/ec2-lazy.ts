import type { Ec2CloudProvider, Ec2Options } from './ec2.ts';

/**
 * An EC2 CloudProvider, loading the AWS SDK only now: @aws-sdk/client-ec2 takes 0.3–0.7 s to
 * import, which every importer of actuators/ would otherwise pay. Without a region, the SDK's
 * chain (AWS_REGION, the profile) supplies it.
 */
export async function createEc2CloudProvider(options: Omit<Ec2Options, 'region'> & { region?: string }): Promise<Ec2CloudProvider> {
  const { Ec2CloudProvider: Provider } = await import('./ec2.ts');
  return Provider.fromDefaultChain(options);
}
