import { removalsDone } from './cleanup';

/** Mocha root hooks (loaded through `require` in .mocharc.json). */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(0); // deleting big test trees takes what it takes on a busy machine
    await removalsDone();
  },
};
