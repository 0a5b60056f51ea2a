package dev.snapstash.strategy.disk.rsync;

import java.util.SortedSet;

/**
 * What changed in the home, as paths relative to it ("" is the home itself), sorted, with no subtree inside another
 * and no directory inside a subtree ({@link ChangeAlgebra#fold} makes them so).
 *
 * @param directories directories whose entries were created, deleted, renamed, written or had their attributes
 *     changed: the delta copies their immediate contents ({@code rsync -d}) and deletes what is gone
 * @param subtrees directories that appeared while watching (made, or renamed into place), copied whole ({@code
 *     rsync -r}); the home itself among them means the record overflowed for the whole home
 */
record Changes(SortedSet<String> directories, SortedSet<String> subtrees) {
  boolean isEmpty() {
    return directories.isEmpty() && subtrees.isEmpty();
  }

  @Override
  public String toString() {
    return directories.size() + " changed directories, " + subtrees.size() + " new subtrees";
  }
}
