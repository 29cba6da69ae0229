import { lostByDrill, parseExposureLossDrill } from './exposure-loss-drill';

describe('exposure loss drill', () => {
  it('reads <experiment>/<variant>=<share> and refuses anything else, naming the form', () => {
    expect(parseExposureLossDrill('')).toBeUndefined();
    expect(parseExposureLossDrill(' demo-srm/treatment=0.5 ')).toEqual({ experimentId: 'demo-srm', variant: 'treatment', share: 0.5 });
    expect(parseExposureLossDrill('x/y=1')).toMatchObject({ share: 1 });
    for (const bad of ['demo-srm=0.5', 'a/b=0', 'a/b=1.5', 'a/b=-0.1', 'a/b/c=0.5'])
      expect(() => parseExposureLossDrill(bad)).toThrow(/<experiment id>\/<variant>=<share>/);
  });

  it("loses about the share of the variant's users, always the same ones, and nothing of anybody else", () => {
    const drill = parseExposureLossDrill('exp/b=0.3');
    const users = Array.from({ length: 20_000 }, (_, n) => `user-${n}`);
    const lost = users.filter((u) => lostByDrill(drill, 'exp', 'b', u));
    expect(lost.length / users.length).toBeGreaterThan(0.28);
    expect(lost.length / users.length).toBeLessThan(0.32);
    expect(users.filter((u) => lostByDrill(drill, 'exp', 'b', u))).toEqual(lost);
    expect(users.some((u) => lostByDrill(drill, 'exp', 'a', u) || lostByDrill(drill, 'other', 'b', u))).toBe(false);
    expect(users.some((u) => lostByDrill(undefined, 'exp', 'b', u))).toBe(false);
  });
});
