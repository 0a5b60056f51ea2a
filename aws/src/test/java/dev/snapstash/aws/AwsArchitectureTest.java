package dev.snapstash.aws;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The rules core's ArchitectureTest holds its strategies to, for the strategies of this module: they see the
 * engine only through the SPI, never one another, never the CLI. (Core itself is kept free of the AWS SDK there.)
 */
class AwsArchitectureTest {
  private static final JavaClasses AWS =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
          .importPackages("dev.snapstash.aws", "dev.snapstash.strategy");

  @Test
  void strategiesSeeTheEngineOnlyThroughTheSpi() {
    noClasses()
        .that()
        .resideInAPackage("dev.snapstash.strategy..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.snapstash.core.engine..", "dev.snapstash.core.api..", "dev.snapstash.cli..", "picocli..")
        .check(AWS);
  }

  @Test
  void strategyPackagesDoNotDependOnEachOther() {
    slices().matching("dev.snapstash.strategy.(*).(*)..").should().notDependOnEachOther().check(AWS);
  }
}
