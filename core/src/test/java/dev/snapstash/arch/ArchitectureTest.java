package dev.snapstash.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency rules of STYLE.md honest: core knows nothing of the CLI, AWS or the sandbox. */
class ArchitectureTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.snapstash.core", "dev.snapstash.strategy");

  @Test
  void coreDoesNotDependOnCliAwsOrSandbox() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.snapstash.cli..", "dev.snapstash.sandbox..", "dev.snapstash.aws..", "picocli..", "ch.qos.logback..", "software.amazon..")
        .check(CORE);
  }

  @Test
  void onlyTheProcessRunnerStartsProcesses() {
    noClasses()
        .that()
        .resideOutsideOfPackage("dev.snapstash.core.process..")
        .should()
        .dependOnClassesThat()
        .haveFullyQualifiedName(ProcessBuilder.class.getName())
        .check(CORE);
  }

  @Test
  void strategiesDoNotDependOnEachOther() {
    for (String kind : new String[] {"disk", "database", "quiesce", "notify"}) {
      noClasses()
          .that()
          .resideInAPackage("dev.snapstash.strategy." + kind + "..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              java.util.Arrays.stream(new String[] {"disk", "database", "quiesce", "notify"})
                  .filter(k -> !k.equals(kind))
                  .map(k -> "dev.snapstash.strategy." + k + "..")
                  .toArray(String[]::new))
          .allowEmptyShould(true)
          .check(CORE);
    }
  }
}
