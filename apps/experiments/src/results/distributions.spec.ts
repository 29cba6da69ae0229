import { chiSquareSf, normalCdf, normalQuantile, studentTCdf, studentTQuantile, studentTTwoSided } from './distributions';

// Reference values from scipy.stats 1.13.1 (t.cdf, t.sf, t.ppf, chi2.sf, norm.cdf, norm.ppf).
describe('distributions', () => {
  it.each([
    [2.1, 7.3, 0.9638766432875734, 0.07224671342485328],
    [-0.5, 120.5, 0.30899346496179514, 0.6179869299235903],
    [4.2, 30000.7, 0.9999866157567281, 2.676848654382852e-5],
    [1.96, 1e6, 0.9750019662073651, 0.04999606758526978],
  ])('Student t(%p, df %p): CDF and two-sided tail as scipy', (t, df, cdf, twoSided) => {
    expect(studentTCdf(t, df)).toBeCloseTo(cdf, 11);
    expect(studentTTwoSided(t, df) / twoSided).toBeCloseTo(1, 10);
  });

  it.each([
    [0.975, 7.3, 2.345066736547702],
    [0.975, 120.5, 1.9798467346103115],
    [0.995, 30000.7, 2.575993194461356],
    [0.9995, 2.5, 18.27789352778505],
  ])('Student t quantile %p with df %p as scipy', (p, df, q) => {
    expect(studentTQuantile(p, df)).toBeCloseTo(q, 9);
    expect(studentTQuantile(1 - p, df)).toBeCloseTo(-q, 9);
  });

  it.each([
    [3.2, 1, 0.07363827012030258],
    [10.828, 1, 0.0009997657195830916],
    [13.816, 2, 0.0009997553089238827],
    [0.5, 3, 0.9188914116546758],
    [40, 4, 4.328422607120966e-8],
  ])('chi-square survival of %p with %p degrees of freedom as scipy', (x, k, sf) => {
    expect(chiSquareSf(x, k) / sf).toBeCloseTo(1, 10);
  });

  it('normal CDF and quantile as scipy', () => {
    expect(normalCdf(-5) / 2.866515718791933e-7).toBeCloseTo(1, 10);
    expect(normalCdf(-1.3)).toBeCloseTo(0.09680048458561036, 14);
    expect(normalCdf(0.2)).toBeCloseTo(0.579259709439103, 14);
    expect(normalCdf(3)).toBeCloseTo(0.9986501019683699, 14);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 10);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.9599639845400545, 12);
    expect(normalQuantile(0.6)).toBeCloseTo(0.2533471031357997, 12);
  });
});
