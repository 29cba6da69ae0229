/** Exit code of `recs train` when there is nothing (or too little) to train on: nothing was registered. */
export const NO_DATA_EXIT = 3;
