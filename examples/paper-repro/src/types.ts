/** What one training run is and what it produced; results.json holds a list of RunResult. */

export const METHODS = ['adam-l2', 'adamw-paper', 'adamw-torch'] as const;
export type Method = (typeof METHODS)[number];

export const METHOD_LABELS: Record<Method, string> = {
  'adam-l2': 'Adam + L2 (coupled)',
  'adamw-paper': "AdamW, paper's decay η_t·λ",
  'adamw-torch': "AdamW, PyTorch's decay lr·η_t·λ",
};

export const MODELS = ['mlp-bn', 'mlp'] as const;
export type ModelKind = (typeof MODELS)[number];

export const MODEL_LABELS: Record<ModelKind, string> = {
  'mlp-bn': 'MLP 196-128-128-10 with batch norm',
  mlp: 'MLP 196-128-128-10',
};

export type Phase = 'grid' | 'seeds' | 'restarts' | 'normalized';

export interface RunSpec {
  readonly id: string;
  readonly phase: Phase;
  readonly method: Method;
  readonly model: ModelKind;
  /** Base learning rate α. */
  readonly lr: number;
  /** The optimizer's weightDecay (λ): per step η_t·λ for adamw-paper, lr·η_t·λ for adamw-torch, the L2 coefficient for adam-l2. */
  readonly weightDecay: number;
  /** Set when weightDecay was derived as λ_norm·sqrt(b/(B·T)). */
  readonly lambdaNorm?: number;
  readonly schedule: 'cosine' | 'warm-restarts';
  readonly epochs: number;
  readonly batchSize: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** Seeds the initialisation and the shuffles. */
  readonly seed: number;
  /** Seeds which images form the training and test subsets (the same for every run). */
  readonly dataSeed: number;
}

export interface RunResult extends RunSpec {
  /** Test error after each epoch (fraction misclassified). */
  readonly testError: number[];
  /** Mean training loss of each epoch. */
  readonly trainLoss: number[];
  readonly finalTestError: number;
  readonly wallMs: number;
  readonly backend: string;
}
