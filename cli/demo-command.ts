export async function demoCommand(..._a: unknown[]): Promise<number> { return 0; }
