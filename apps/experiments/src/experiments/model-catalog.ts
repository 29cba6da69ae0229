/** What the service asks the recommender: whether a model version exists. */
export abstract class ModelCatalog {
  /** True when the recommender's registry has the version; rejects (UNAVAILABLE) when it cannot be asked. */
  abstract hasVersion(version: string): Promise<boolean>;
}
