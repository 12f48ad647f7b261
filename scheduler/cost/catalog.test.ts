import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NovaError } from '../../core/index.ts';
import { loadCatalogFile, parseCatalog } from './catalog.ts';

const EXAMPLE = new URL('./catalog.example.json', import.meta.url).pathname;

const valid = () => ({
  version: 1,
  currency: 'USD',
  instances: [{ provider: 'aws', region: 'us-east-1', instanceType: 'm.large', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.03 }],
});

/** Asserts parseCatalog throws COST_CATALOG_INVALID naming `field` (message and details). */
function rejects(input: unknown, field: string): void {
  assert.throws(
    () => parseCatalog(input, 'test.json'),
    (err: unknown) => {
      assert.ok(err instanceof NovaError);
      assert.equal(err.code, 'COST_CATALOG_INVALID');
      assert.equal(err.details?.field, field);
      assert.ok(err.message.includes(`"${field}"`), err.message);
      assert.ok(err.message.startsWith('test.json'), 'the message names the file');
      return true;
    },
  );
}

describe('parseCatalog', () => {
  it('loads the shipped example, labelled as illustrative, frozen', async () => {
    const c = await loadCatalogFile(EXAMPLE);
    assert.equal(c.currency, 'USD');
    assert.ok(c.instances.length >= 10);
    assert.deepEqual([...new Set(c.instances.map((i) => i.provider))].sort(), ['aws', 'azure', 'gcp']);
    assert.match(c.note ?? '', /illustrative/i);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.instances[0]));
  });

  it('accepts an object or its JSON text alike', () => {
    assert.deepEqual(parseCatalog(JSON.stringify(valid())), parseCatalog(valid()));
  });

  it('names the bad field: wrong type, negative price, missing field, unknown field', () => {
    const wrongType = valid();
    (wrongType.instances[0] as Record<string, unknown>).vcpus = '2';
    rejects(wrongType, 'instances[0].vcpus');
    const negative = valid();
    negative.instances[0]!.onDemandPerHour = -1;
    rejects(negative, 'instances[0].onDemandPerHour');
    const missing = valid();
    delete (missing.instances[0] as Record<string, unknown>).memoryGiB;
    rejects(missing, 'instances[0].memoryGiB');
    const typo = valid();
    (typo.instances[0] as Record<string, unknown>).spotPerhour = 0.02;
    rejects(typo, 'instances[0].spotPerhour');
  });

  it('names top-level fields: version, currency, empty instance list', () => {
    rejects({ ...valid(), version: 2 }, 'version');
    rejects({ ...valid(), currency: 'dollars' }, 'currency');
    rejects({ ...valid(), instances: [] }, 'instances');
    rejects([], '(root)');
  });

  it('rejects two prices for one offer, naming the second', () => {
    const c = valid();
    c.instances.push({ ...c.instances[0]!, onDemandPerHour: 0.2 });
    rejects(c, 'instances[1].instanceType');
    // Same type, other zone: a distinct offer.
    const zoned = valid();
    zoned.instances.push({ ...zoned.instances[0]!, zone: 'us-east-1a' } as (typeof zoned.instances)[number]);
    assert.equal(parseCatalog(zoned).instances.length, 2);
  });

  it('reports invalid JSON and unreadable files with their own codes', async () => {
    rejects('{"version": 1,', '(root)');
    const dir = await mkdtemp(join(tmpdir(), 'novacron-catalog-'));
    await assert.rejects(loadCatalogFile(join(dir, 'absent.json')), (err: unknown) => err instanceof NovaError && err.code === 'COST_CATALOG_UNREADABLE');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...valid(), currency: 'usd' }));
    await assert.rejects(loadCatalogFile(bad), (err: unknown) => err instanceof NovaError && err.code === 'COST_CATALOG_INVALID' && err.message.includes(bad));
  });
});
